// The data of record of the personal card program, as one interface with a MongoDB and a
// PostgreSQL implementation. Money is integer minor units (safe integers) with the currency
// beside it; times are Dates with millisecond precision in both backends.

import type { TransactionSql } from '@afc/postgres';

export const kyc_statuses = ['pending', 'verified', 'rejected'] as const;
export type KycStatus = (typeof kyc_statuses)[number];

export const user_statuses = ['active', 'suspended', 'closed'] as const;
export type UserStatus = (typeof user_statuses)[number];

// 'failed': Marqeta refused the issuance for good (failure_reason says why). Entered and left
// only through recordCardIssueFailed / recordCardIssued, never through setCardState.
export const card_states = ['unactivated', 'active', 'suspended', 'terminated', 'failed'] as const;
export type CardState = (typeof card_states)[number];

export const transaction_states = [
  'pending',
  'cleared',
  'partially_cleared',
  'reversed',
  'declined',
  'expired',
] as const;
export type TransactionState = (typeof transaction_states)[number];

export interface PersonalUser {
  readonly user_token: string;
  readonly email: string;
  readonly kyc_status: KycStatus;
  readonly wallet_address: string;
  readonly status: UserStatus;
  readonly created_at: Date;
  readonly updated_at: Date;
}

export interface CreateUserInput {
  readonly user_token: string;
  readonly email: string;
  readonly wallet_address: string;
  // The card currency the wallet holds (crypto is converted into it on deposit).
  readonly currency: string;
  readonly kyc_status?: KycStatus;
  readonly status?: UserStatus;
}

export interface UpdateUserInput {
  readonly kyc_status?: KycStatus;
  readonly status?: UserStatus;
}

export interface Wallet {
  readonly user_token: string;
  readonly currency: string;
  readonly available_minor: number;
  readonly held_minor: number;
  // Increments with every change of the balances: lets readers (Redis rebuild) order snapshots.
  readonly version: number;
}

export interface CreditDepositInput {
  readonly deposit_id: string;
  readonly user_token: string;
  readonly crypto_currency: string;
  // Decimal text, kept exactly as received: both sides of the conversion stay on record.
  readonly crypto_amount: string;
  readonly rate: string;
  readonly credited_minor: number;
  readonly currency: string;
}

export interface WalletDeposit {
  readonly deposit_id: string;
  readonly user_token: string;
  readonly crypto_currency: string;
  readonly crypto_amount: string;
  readonly rate: string;
  readonly credited_minor: number;
  readonly currency: string;
  readonly created_at: Date;
}

export interface CreditDepositResult {
  readonly deposit: WalletDeposit;
  // The wallet right after this deposit was credited (the same on a replay).
  readonly wallet: Wallet;
  readonly replayed: boolean;
}

export interface PersonalCard {
  readonly card_token: string;
  readonly user_token: string;
  readonly state: CardState;
  readonly currency: string;
  readonly expiration_month: number;
  readonly expiration_year: number;
  readonly last_four: string;
  // Set exactly when state is 'failed'.
  readonly failure_reason: string | null;
  // The Marqeta card product the card is issued from (null for cards recorded before it was kept).
  readonly card_product_token: string | null;
  readonly created_at: Date;
  // Strictly increases with every change of the card (also within one millisecond): it is the
  // version of the card's real-time state in Redis, where only a newer version is written.
  readonly updated_at: Date;
}

// What Marqeta says about an issued card (never the PAN or CVV).
export interface IssuedCardDetails {
  readonly last_four: string;
  readonly expiration_month: number;
  readonly expiration_year: number;
}

// `changed` is false when the card was already past issuance (a late duplicate): it is then
// returned as it is.
export interface CardIssueOutcome {
  readonly card: PersonalCard;
  readonly changed: boolean;
}

export interface CreateCardInput {
  readonly card_token: string;
  readonly user_token: string;
  readonly state: CardState;
  readonly currency: string;
  readonly expiration_month: number;
  readonly expiration_year: number;
  readonly last_four: string;
  readonly card_product_token?: string;
}

export interface Merchant {
  readonly mid: string | null;
  readonly name: string | null;
  readonly mcc: string | null;
  readonly city: string | null;
  readonly country_code: string | null;
}

// One webhook or JIT event about one authorization. Amounts are this event's own amounts
// (what it authorized, cleared, reversed or refunded), added to the record's totals once.
export interface TransactionEventInput {
  readonly event_id: string;
  readonly jit_token: string;
  readonly card_token: string;
  readonly user_token: string;
  readonly currency: string;
  readonly state: TransactionState;
  readonly occurred_at: Date;
  readonly authorized_minor?: number;
  readonly cleared_minor?: number;
  readonly reversed_minor?: number;
  readonly refunded_minor?: number;
  readonly merchant?: Partial<Merchant>;
}

export interface TransactionHistoryEntry {
  readonly event_id: string;
  readonly state: TransactionState;
  readonly occurred_at: Date;
  readonly authorized_minor: number;
  readonly cleared_minor: number;
  readonly reversed_minor: number;
  readonly refunded_minor: number;
  // Ledger events (recordLedgerEvent) only; null for recordTransactionEvent's.
  readonly kind: string | null;
  readonly details: Readonly<Record<string, unknown>> | null;
}

export interface PersonalTransaction {
  readonly jit_token: string;
  readonly card_token: string;
  readonly user_token: string;
  readonly currency: string;
  // The state of the event that occurred last, whatever order events arrived in.
  readonly state: TransactionState;
  readonly state_at: Date;
  readonly authorized_minor: number;
  readonly cleared_minor: number;
  readonly reversed_minor: number;
  readonly refunded_minor: number;
  // Ledger rows (recordLedgerEvent) only: 0 / null for rows made by recordTransactionEvent.
  readonly requested_minor: number;
  readonly decline_reason: string | null;
  readonly memo: string | null;
  readonly method: string | null;
  readonly network: string | null;
  readonly marqeta_transaction_token: string | null;
  readonly original_jit_token: string | null;
  readonly expires_at: Date | null;
  readonly merchant: Merchant;
  // In the order the events were recorded.
  readonly history: readonly TransactionHistoryEntry[];
  readonly created_at: Date;
  readonly updated_at: Date;
}

export interface RecordTransactionEventResult {
  readonly transaction: PersonalTransaction;
  readonly replayed: boolean;
}

// One event for settlement's ledger. The store does not interpret `details`: it keeps it with the
// event and hands every event's details to the caller's derive function, whose result becomes
// the row. So the row is a function of the set of events, the same in any arrival order.
export interface LedgerEventInput {
  readonly event_id: string;
  readonly jit_token: string;
  readonly card_token: string;
  readonly user_token: string;
  readonly currency: string;
  readonly occurred_at: Date;
  readonly kind: string;
  readonly amount_minor: number;
  // This event's own amounts, for the history.
  readonly authorized_minor: number;
  readonly cleared_minor: number;
  readonly reversed_minor: number;
  readonly refunded_minor: number;
  readonly details: Readonly<Record<string, unknown>>;
  // The wallet movement the event carries (both 0: none), applied once with the event. The
  // wallet never goes below zero: what a movement cannot take yet is kept as a shortfall (a
  // release before its hold) and paid back by the next credits, so the final balance is the
  // same in any order.
  readonly balance_delta: { readonly available_minor: number; readonly held_minor: number };
}

export interface LedgerEntry {
  readonly event_id: string;
  readonly details: Readonly<Record<string, unknown>>;
}

export interface LedgerRowFields {
  readonly state: TransactionState;
  readonly requested_minor: number;
  readonly authorized_minor: number;
  readonly cleared_minor: number;
  readonly reversed_minor: number;
  readonly refunded_minor: number;
  readonly decline_reason: string | null;
  readonly memo: string | null;
  readonly method: string;
  readonly network: string | null;
  readonly marqeta_transaction_token: string | null;
  readonly original_jit_token: string | null;
  readonly merchant: Merchant;
  readonly created_at: Date;
  readonly expires_at: Date | null;
}

// Pure, and a function of the set (not the order) of its entries.
export type LedgerDerive = (entries: readonly LedgerEntry[]) => LedgerRowFields;

export interface RecordLedgerEventResult {
  readonly outcome: 'applied' | 'duplicate';
  readonly transaction: PersonalTransaction;
}

// An open hold of the personal ledger (pending, or partially cleared with the rest still held),
// as settlement's expiry sweep and Redis rebuild need it: the row without its history.
export interface PersonalOpenHold {
  readonly jit_token: string;
  readonly card_token: string;
  readonly user_token: string;
  readonly currency: string;
  readonly state: 'pending' | 'partially_cleared';
  readonly method: string | null;
  readonly authorized_minor: number;
  readonly cleared_minor: number;
  readonly reversed_minor: number;
  readonly created_at: Date;
  readonly expires_at: Date | null;
}

export interface PageRequest {
  readonly limit?: number;
  // Opaque: the `next_cursor` of the previous page.
  readonly cursor?: string;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly next_cursor: string | null;
}

export type PingResult =
  | { readonly ok: true; readonly latency_ms: number }
  | { readonly ok: false; readonly reason: string };

export interface PersonalStore {
  readonly backend: 'mongodb' | 'postgres';

  // Creates the user and their empty wallet. Conflict if the user_token exists.
  createUser(input: CreateUserInput): Promise<PersonalUser>;
  getUser(user_token: string): Promise<PersonalUser | null>;
  // Not found if no such user; conflict when leaving 'closed' (a closed user stays closed).
  updateUser(user_token: string, input: UpdateUserInput): Promise<PersonalUser>;

  getWallet(user_token: string): Promise<Wallet | null>;
  // Idempotent by deposit_id; a repeat with other content is a conflict.
  creditDeposit(input: CreditDepositInput): Promise<CreditDepositResult>;

  // Not found if the user does not exist; conflict if the card_token exists.
  createCard(input: CreateCardInput): Promise<PersonalCard>;
  // createCard, then `and_then` for what the caller writes beside the card in the platform's
  // PostgreSQL (the api's issue command, in its outbox). On the PostgreSQL twin both run in the
  // card's transaction (and_then gets it): they commit together or not at all. On MongoDB the
  // card is written first and and_then gets undefined (it writes on its own): a crash between
  // leaves the card alone, which the caller must mend (see card_commits_with_postgres).
  createCardWith(
    input: CreateCardInput,
    and_then: (tx: TransactionSql | undefined) => Promise<unknown>,
  ): Promise<PersonalCard>;
  // Whether createCardWith commits the card with and_then's writes (the PostgreSQL twin).
  readonly card_commits_with_postgres: boolean;
  getCard(card_token: string): Promise<PersonalCard | null>;
  // Conflict when leaving 'terminated'; 'failed' is refused (invalid input): see below.
  setCardState(card_token: string, state: CardState): Promise<PersonalCard>;
  // setCardState fenced by the card's version, in one statement: only while updated_at is still
  // expected_updated_at (to the millisecond, as stored), so a caller can act on what it read
  // without holding a transaction open. changed: false (nothing written) with the card as it is
  // now when another write came first or the card is terminated (unless state is 'terminated').
  // Not found if no card; 'failed' refused (invalid input) as in setCardState.
  setCardStateIfUnchanged(
    card_token: string,
    state: CardState,
    expected_updated_at: Date,
  ): Promise<{ readonly changed: boolean; readonly card: PersonalCard }>;
  // Issuance outcomes, conditional in one statement: a card 'unactivated' or 'failed' becomes
  // 'active' with Marqeta's details (reason cleared), or 'failed' with the reason; a card
  // already active, suspended or terminated is left alone (changed: false). Not found if no card.
  recordCardIssued(card_token: string, details: IssuedCardDetails): Promise<CardIssueOutcome>;
  recordCardIssueFailed(card_token: string, reason: string): Promise<CardIssueOutcome>;
  // Cards still 'unactivated' created before `created_before`, oldest first (created_at, then
  // card_token), after `after` when given, at most `limit`: the ones whose issue command may have
  // been lost (recovery re-sends it). The cursor lets a sweep move past cards it cannot help.
  listCardsAwaitingIssue(
    created_before: Date,
    limit: number,
    after?: AwaitingIssueCursor,
  ): Promise<readonly PersonalCard[]>;
  // Oldest first.
  listCards(user_token: string): Promise<readonly PersonalCard[]>;
  // Every card, by card_token after `after_card_token` ('' for the first page), at most `limit`
  // (1-1000): the pages of a full scan (Redis rebuild).
  listCardsAfter(after_card_token: string, limit: number): Promise<readonly PersonalCard[]>;

  // One record per jit_token; idempotent by event_id.
  recordTransactionEvent(input: TransactionEventInput): Promise<RecordTransactionEventResult>;
  // Settlement's ledger: idempotent by event_id; the row is derive(every event's details), the
  // wallet moves by balance_delta once, in the same atomic step. Conflict if the jit_token is
  // another card's or user's; not found if a movement names a user without a wallet.
  recordLedgerEvent(input: LedgerEventInput, derive: LedgerDerive): Promise<RecordLedgerEventResult>;
  getTransaction(jit_token: string): Promise<PersonalTransaction | null>;
  // Open holds (pending / partially_cleared) whose expires_at is at or before `now`, oldest
  // expiry first (then jit_token), at most `limit` (1-1000), through an index on expires_at.
  listExpiredOpenHolds(now: Date, limit: number): Promise<readonly PersonalOpenHold[]>;
  // Every open hold, by jit_token after `after_jit_token` ('' for the first page), at most `limit`
  // (1-1000): the pages of a full scan (Redis rebuild).
  listOpenHoldsAfter(after_jit_token: string, limit: number): Promise<readonly PersonalOpenHold[]>;
  // Newest first, by (created_at, jit_token).
  listTransactionsByCard(card_token: string, page?: PageRequest): Promise<Page<PersonalTransaction>>;
  listTransactionsByUser(user_token: string, page?: PageRequest): Promise<Page<PersonalTransaction>>;

  ping(timeout_ms: number): Promise<PingResult>;
  close(): Promise<void>;
}

// Where a listing of cards awaiting issuance goes on: the last card of the previous page.
export interface AwaitingIssueCursor {
  readonly created_at: Date;
  readonly card_token: string;
}
