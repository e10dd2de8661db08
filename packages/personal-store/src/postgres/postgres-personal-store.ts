import type { Logger } from '@afc/log';
import type { Sql, TransactionSql } from '@afc/postgres';
import { timedPing } from '../common.ts';
import { PersonalClosedError } from '../errors.ts';
import type {
  AwaitingIssueCursor,
  CardIssueOutcome,
  CardState,
  CreateCardInput,
  CreateUserInput,
  CreditDepositInput,
  CreditDepositResult,
  IssuedCardDetails,
  LedgerDerive,
  LedgerEventInput,
  Page,
  PageRequest,
  PersonalCard,
  PersonalOpenHold,
  PersonalStore,
  PersonalTransaction,
  PersonalUser,
  PingResult,
  RecordLedgerEventResult,
  RecordTransactionEventResult,
  TransactionEventInput,
  UpdateUserInput,
  Wallet,
} from '../types.ts';
import {
  checkAwaitingIssueQuery,
  checkDate,
  checkExpiredHoldsQuery,
  checkFailureReason,
  checkIssuedDetails,
  checkScanPage,
  checkSettableCardState,
  checkToken,
  pageLimit,
  validateCreateCard,
  validateCreateUser,
  validateDeposit,
  validateLedgerEvent,
  validateTransactionEvent,
  validateUpdateUser,
} from '../validate.ts';
import * as ledger from './ledger-ops.ts';
import * as holds from './open-hold-ops.ts';
import * as transactions from './transaction-ops.ts';
import * as users from './user-card-ops.ts';
import * as wallets from './wallet-ops.ts';

export interface PostgresPersonalStoreOptions {
  // The caller's pool (shared with other stores): the store never ends it.
  readonly sql: Sql;
  readonly logger: Logger;
  readonly now?: () => Date;
}

// The `personal` schema of 0002_personal_schema.sql, applied by @afc/postgres runMigrations.
export class PostgresPersonalStore implements PersonalStore {
  readonly backend = 'postgres' as const;
  readonly #sql: Sql;
  readonly #logger: Logger;
  readonly #now: () => Date;
  #closed = false;

  constructor(options: PostgresPersonalStoreOptions) {
    this.#sql = options.sql;
    this.#logger = options.logger.child({ component: 'personal-store', backend: 'postgres' });
    this.#now = options.now ?? (() => new Date());
  }

  #open(): Sql {
    if (this.#closed) throw new PersonalClosedError();
    return this.#sql;
  }

  async createUser(input: CreateUserInput): Promise<PersonalUser> {
    validateCreateUser(input);
    return users.createUser(this.#open(), this.#now(), input);
  }

  async getUser(user_token: string): Promise<PersonalUser | null> {
    checkToken('user_token', user_token);
    return users.getUser(this.#open(), user_token);
  }

  async updateUser(user_token: string, input: UpdateUserInput): Promise<PersonalUser> {
    validateUpdateUser(user_token, input);
    return users.updateUser(this.#open(), this.#now(), user_token, input);
  }

  async getWallet(user_token: string): Promise<Wallet | null> {
    checkToken('user_token', user_token);
    return wallets.getWallet(this.#open(), user_token);
  }

  async creditDeposit(input: CreditDepositInput): Promise<CreditDepositResult> {
    validateDeposit(input);
    return wallets.creditDeposit(this.#open(), this.#now, input);
  }

  async createCard(input: CreateCardInput): Promise<PersonalCard> {
    validateCreateCard(input);
    return users.createCard(this.#open(), this.#now(), input);
  }

  readonly card_commits_with_postgres = true;

  async createCardWith(
    input: CreateCardInput,
    and_then: (tx: TransactionSql | undefined) => Promise<unknown>,
  ): Promise<PersonalCard> {
    validateCreateCard(input);
    return this.#open().begin(async (tx) => {
      const card = await users.createCard(tx, this.#now(), input);
      await and_then(tx);
      return card;
    }) as Promise<PersonalCard>;
  }

  async getCard(card_token: string): Promise<PersonalCard | null> {
    checkToken('card_token', card_token);
    return users.getCard(this.#open(), card_token);
  }

  async setCardState(card_token: string, state: CardState): Promise<PersonalCard> {
    checkToken('card_token', card_token);
    checkSettableCardState(state);
    return users.setCardState(this.#open(), this.#now(), card_token, state);
  }

  async setCardStateIfUnchanged(
    card_token: string,
    state: CardState,
    expected_updated_at: Date,
  ): Promise<CardIssueOutcome> {
    checkToken('card_token', card_token);
    checkSettableCardState(state);
    checkDate('expected_updated_at', expected_updated_at);
    return users.setCardStateIfUnchanged(this.#open(), this.#now(), card_token, state, expected_updated_at);
  }

  async recordCardIssued(card_token: string, details: IssuedCardDetails): Promise<CardIssueOutcome> {
    checkToken('card_token', card_token);
    checkIssuedDetails(details);
    return users.recordCardIssued(this.#open(), this.#now(), card_token, details);
  }

  async recordCardIssueFailed(card_token: string, reason: string): Promise<CardIssueOutcome> {
    checkToken('card_token', card_token);
    checkFailureReason(reason);
    return users.recordCardIssueFailed(this.#open(), this.#now(), card_token, reason);
  }

  async listCardsAwaitingIssue(
    created_before: Date,
    limit: number,
    after?: AwaitingIssueCursor,
  ): Promise<readonly PersonalCard[]> {
    checkAwaitingIssueQuery(created_before, limit, after);
    return users.listCardsAwaitingIssue(this.#open(), created_before, limit, after);
  }

  async listCards(user_token: string): Promise<readonly PersonalCard[]> {
    checkToken('user_token', user_token);
    return users.listCards(this.#open(), user_token);
  }

  async listCardsAfter(after_card_token: string, limit: number): Promise<readonly PersonalCard[]> {
    checkScanPage('after_card_token', after_card_token, limit);
    return holds.listCardsAfter(this.#open(), after_card_token, limit);
  }

  async recordTransactionEvent(input: TransactionEventInput): Promise<RecordTransactionEventResult> {
    validateTransactionEvent(input);
    return transactions.recordTransactionEvent(this.#open(), this.#now, input);
  }

  async recordLedgerEvent(input: LedgerEventInput, derive: LedgerDerive): Promise<RecordLedgerEventResult> {
    validateLedgerEvent(input);
    return ledger.recordLedgerEvent(this.#open(), this.#now, input, derive);
  }

  async getTransaction(jit_token: string): Promise<PersonalTransaction | null> {
    checkToken('jit_token', jit_token);
    return transactions.getTransaction(this.#open(), jit_token);
  }

  async listExpiredOpenHolds(now: Date, limit: number): Promise<readonly PersonalOpenHold[]> {
    checkExpiredHoldsQuery(now, limit);
    return holds.listExpiredOpenHolds(this.#open(), now, limit);
  }

  async listOpenHoldsAfter(after_jit_token: string, limit: number): Promise<readonly PersonalOpenHold[]> {
    checkScanPage('after_jit_token', after_jit_token, limit);
    return holds.listOpenHoldsAfter(this.#open(), after_jit_token, limit);
  }

  async listTransactionsByCard(card_token: string, page?: PageRequest): Promise<Page<PersonalTransaction>> {
    checkToken('card_token', card_token);
    const by = { column: 'card_token', token: card_token } as const;
    return transactions.listTransactions(this.#open(), by, pageLimit(page), page);
  }

  async listTransactionsByUser(user_token: string, page?: PageRequest): Promise<Page<PersonalTransaction>> {
    checkToken('user_token', user_token);
    const by = { column: 'user_token', token: user_token } as const;
    return transactions.listTransactions(this.#open(), by, pageLimit(page), page);
  }

  async ping(timeout_ms: number): Promise<PingResult> {
    const sql = this.#open();
    const result = await timedPing(() => sql`select 1 from personal.wallets limit 1`, timeout_ms);
    if (!result.ok) this.#logger.warn({ reason: result.reason }, 'personal store ping failed');
    return result;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
