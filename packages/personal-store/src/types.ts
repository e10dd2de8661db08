// The data of record of the personal card program, as one interface with a MongoDB and a
// PostgreSQL implementation. Money is integer minor units (safe integers) with the currency
// beside it; times are Dates with millisecond precision in both backends.

export const kyc_statuses = ['pending', 'verified', 'rejected'] as const;
export type KycStatus = (typeof kyc_statuses)[number];

export const user_statuses = ['active', 'suspended', 'closed'] as const;
export type UserStatus = (typeof user_statuses)[number];

export const card_states = ['unactivated', 'active', 'suspended', 'terminated'] as const;
export type CardState = (typeof card_states)[number];

export const balance_change_kinds = ['hold', 'release', 'capture', 'refund', 'adjust'] as const;
export type BalanceChangeKind = (typeof balance_change_kinds)[number];

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

export interface BalanceChangeInput {
  readonly change_id: string;
  readonly user_token: string;
  readonly kind: BalanceChangeKind;
  // Positive for every kind but 'adjust', where the sign says credit (+) or debit (-).
  readonly amount_minor: number;
  readonly currency: string;
  // The JIT funding token the change belongs to, when it belongs to one.
  readonly jit_token?: string;
  readonly memo?: string;
}

export type BalanceChangeDeclineReason = 'insufficient_funds' | 'insufficient_held';

// Either outcome is final for its change_id: a repeat returns it again with replayed: true.
// `wallet` is the wallet right after the decision (unchanged on a decline).
export type BalanceChangeResult =
  | { readonly ok: true; readonly change_id: string; readonly wallet: Wallet; readonly replayed: boolean }
  | {
      readonly ok: false;
      readonly change_id: string;
      readonly reason: BalanceChangeDeclineReason;
      readonly wallet: Wallet;
      readonly replayed: boolean;
    };

export interface PersonalCard {
  readonly card_token: string;
  readonly user_token: string;
  readonly state: CardState;
  readonly currency: string;
  readonly expiration_month: number;
  readonly expiration_year: number;
  readonly last_four: string;
  readonly created_at: Date;
  readonly updated_at: Date;
}

export interface CreateCardInput {
  readonly card_token: string;
  readonly user_token: string;
  readonly state: CardState;
  readonly currency: string;
  readonly expiration_month: number;
  readonly expiration_year: number;
  readonly last_four: string;
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
  // Idempotent by change_id; conditional so that no balance ever goes negative.
  applyBalanceChange(input: BalanceChangeInput): Promise<BalanceChangeResult>;

  // Not found if the user does not exist; conflict if the card_token exists.
  createCard(input: CreateCardInput): Promise<PersonalCard>;
  getCard(card_token: string): Promise<PersonalCard | null>;
  // Conflict when leaving 'terminated'.
  setCardState(card_token: string, state: CardState): Promise<PersonalCard>;
  // Oldest first.
  listCards(user_token: string): Promise<readonly PersonalCard[]>;

  // One record per jit_token; idempotent by event_id.
  recordTransactionEvent(input: TransactionEventInput): Promise<RecordTransactionEventResult>;
  getTransaction(jit_token: string): Promise<PersonalTransaction | null>;
  // Newest first, by (created_at, jit_token).
  listTransactionsByCard(card_token: string, page?: PageRequest): Promise<Page<PersonalTransaction>>;
  listTransactionsByUser(user_token: string, page?: PageRequest): Promise<Page<PersonalTransaction>>;

  ping(timeout_ms: number): Promise<PingResult>;
  close(): Promise<void>;
}
