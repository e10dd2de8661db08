import type { Logger } from '@afc/log';
import type { TransactionSql } from '@afc/postgres';
import type { Db, MongoClient } from 'mongodb';
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
import { type PersonalCollections, personalCollections } from './collections.ts';
import { walletFromDoc } from './convert.ts';
import * as ledger from './ledger-ops.ts';
import * as holds from './open-hold-ops.ts';
import { inTransaction } from './transaction.ts';
import * as transactions from './transaction-ops.ts';
import * as users from './user-card-ops.ts';
import { creditDepositIn } from './wallet-ops.ts';

export interface MongoPersonalStoreOptions {
  readonly client: MongoClient;
  readonly db_name: string;
  readonly logger: Logger;
  // True when the store made the client and so closes it; false for a client the caller shares.
  readonly owns_client: boolean;
  readonly now?: () => Date;
}

// Run ensureIndexes(db) before first use (createPersonalStore does): the unique indexes are
// part of the store's guarantees, not an optimisation.
export class MongoPersonalStore implements PersonalStore {
  readonly backend = 'mongodb' as const;
  readonly #client: MongoClient;
  readonly #db: Db;
  readonly #c: PersonalCollections;
  readonly #logger: Logger;
  readonly #owns_client: boolean;
  readonly #now: () => Date;
  #closed = false;

  constructor(options: MongoPersonalStoreOptions) {
    this.#client = options.client;
    this.#db = options.client.db(options.db_name);
    this.#c = personalCollections(this.#db);
    this.#logger = options.logger.child({ component: 'personal-store', backend: 'mongodb' });
    this.#owns_client = options.owns_client;
    this.#now = options.now ?? (() => new Date());
  }

  #open(): PersonalCollections {
    if (this.#closed) throw new PersonalClosedError();
    return this.#c;
  }

  #transaction(retry_on_duplicate_key: boolean) {
    return { client: this.#client, logger: this.#logger, retry_on_duplicate_key };
  }

  async createUser(input: CreateUserInput): Promise<PersonalUser> {
    validateCreateUser(input);
    const c = this.#open();
    const at = this.#now();
    return inTransaction(this.#transaction(false), (session) => users.createUserIn(c, session, at, input));
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
    const doc = await this.#open().wallets.findOne({ user_token });
    return doc === null ? null : walletFromDoc(doc);
  }

  async creditDeposit(input: CreditDepositInput): Promise<CreditDepositResult> {
    validateDeposit(input);
    const c = this.#open();
    return inTransaction(this.#transaction(true), (session) =>
      creditDepositIn(c, session, this.#now(), input),
    );
  }

  async createCard(input: CreateCardInput): Promise<PersonalCard> {
    validateCreateCard(input);
    return users.createCard(this.#open(), this.#now(), input);
  }

  // No transaction spans MongoDB and PostgreSQL: the card first, then the caller's writes.
  readonly card_commits_with_postgres = false;

  async createCardWith(
    input: CreateCardInput,
    and_then: (tx: TransactionSql | undefined) => Promise<unknown>,
  ): Promise<PersonalCard> {
    const card = await this.createCard(input);
    await and_then(undefined);
    return card;
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
    const c = this.#open();
    return inTransaction(this.#transaction(true), (session) =>
      ledger.recordLedgerEventIn(c, session, this.#now(), input, derive),
    );
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
    this.#open();
    const result = await timedPing(() => this.#db.command({ ping: 1 }), timeout_ms);
    if (!result.ok) this.#logger.warn({ reason: result.reason }, 'personal store ping failed');
    return result;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#owns_client) await this.#client.close();
  }
}
