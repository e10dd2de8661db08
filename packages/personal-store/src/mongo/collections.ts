import type { Collection, Db, IndexDescription } from 'mongodb';
import type { CardState, KycStatus, Merchant, TransactionState, UserStatus } from '../types.ts';

export const collection_names = {
  users: 'personal_users',
  wallets: 'wallets',
  deposits: 'wallet_deposits',
  cards: 'personal_cards',
  transactions: 'personal_transactions',
} as const;

export interface UserDoc {
  user_token: string;
  email: string;
  kyc_status: KycStatus;
  wallet_address: string;
  status: UserStatus;
  created_at: Date;
  updated_at: Date;
}

export interface WalletDoc {
  user_token: string;
  currency: string;
  available_minor: number;
  held_minor: number;
  // What a ledger movement that arrived early could not take yet (see recordLedgerEvent).
  available_shortfall_minor?: number;
  held_shortfall_minor?: number;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface WalletAfter {
  available_minor: number;
  held_minor: number;
  version: number;
}

export interface DepositDoc {
  deposit_id: string;
  user_token: string;
  crypto_currency: string;
  crypto_amount: string;
  rate: string;
  credited_minor: number;
  currency: string;
  wallet_after: WalletAfter;
  created_at: Date;
}

export interface CardDoc {
  card_token: string;
  user_token: string;
  state: CardState;
  currency: string;
  expiration_month: number;
  expiration_year: number;
  last_four: string;
  // Absent on documents written before these fields existed: read as null.
  failure_reason?: string | null;
  card_product_token?: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface HistoryDoc {
  event_id: string;
  state: TransactionState;
  occurred_at: Date;
  authorized_minor: number;
  cleared_minor: number;
  reversed_minor: number;
  refunded_minor: number;
  recorded_at: Date;
  // Ledger events (recordLedgerEvent) only.
  kind?: string;
  amount_minor?: number;
  details?: Record<string, unknown>;
}

export interface TransactionDoc {
  jit_token: string;
  card_token: string;
  user_token: string;
  currency: string;
  state: TransactionState;
  state_at: Date;
  authorized_minor: number;
  cleared_minor: number;
  reversed_minor: number;
  refunded_minor: number;
  // Ledger rows (recordLedgerEvent) only.
  requested_minor?: number;
  decline_reason?: string | null;
  memo?: string | null;
  method?: string | null;
  network?: string | null;
  marqeta_transaction_token?: string | null;
  original_jit_token?: string | null;
  expires_at?: Date | null;
  merchant: Merchant;
  history: HistoryDoc[];
  created_at: Date;
  updated_at: Date;
}

export interface PersonalCollections {
  readonly users: Collection<UserDoc>;
  readonly wallets: Collection<WalletDoc>;
  readonly deposits: Collection<DepositDoc>;
  readonly cards: Collection<CardDoc>;
  readonly transactions: Collection<TransactionDoc>;
}

export function personalCollections(db: Db): PersonalCollections {
  return {
    users: db.collection<UserDoc>(collection_names.users),
    wallets: db.collection<WalletDoc>(collection_names.wallets),
    deposits: db.collection<DepositDoc>(collection_names.deposits),
    cards: db.collection<CardDoc>(collection_names.cards),
    transactions: db.collection<TransactionDoc>(collection_names.transactions),
  };
}

// Every token is unique: these indexes, not application checks, are what turn a concurrent
// duplicate into a duplicate-key error. The others serve the queries the store runs.
export const personal_indexes: Record<keyof PersonalCollections, IndexDescription[]> = {
  users: [{ key: { user_token: 1 }, name: 'user_token_unique', unique: true }],
  wallets: [{ key: { user_token: 1 }, name: 'user_token_unique', unique: true }],
  deposits: [
    { key: { deposit_id: 1 }, name: 'deposit_id_unique', unique: true },
    { key: { user_token: 1, created_at: 1 }, name: 'user_created' },
  ],
  cards: [
    { key: { card_token: 1 }, name: 'card_token_unique', unique: true },
    { key: { user_token: 1, created_at: 1, card_token: 1 }, name: 'user_created' },
    // listCardsAwaitingIssue: the few cards still waiting for issuance, oldest first.
    {
      key: { created_at: 1, card_token: 1 },
      name: 'awaiting_issue',
      partialFilterExpression: { state: 'unactivated' },
    },
  ],
  transactions: [
    { key: { jit_token: 1 }, name: 'jit_token_unique', unique: true },
    // Multikey and unique across documents: an event id belongs to one transaction only.
    // (Within one document the update filter's $ne guard keeps it to one history entry.)
    { key: { 'history.event_id': 1 }, name: 'event_id_unique', unique: true },
    { key: { card_token: 1, created_at: -1, jit_token: -1 }, name: 'card_page' },
    { key: { user_token: 1, created_at: -1, jit_token: -1 }, name: 'user_page' },
    // listExpiredOpenHolds (settlement's expiry sweep) and listOpenHoldsAfter (Redis rebuild):
    // state first, so each open state is one range in the order asked (no partial filter with
    // $in: it needs MongoDB 6.0, and the store does not require it).
    { key: { state: 1, expires_at: 1, jit_token: 1 }, name: 'open_expiry' },
    { key: { state: 1, jit_token: 1 }, name: 'open_token' },
  ],
};

// The server-side twin of PostgreSQL's check constraints: a write that would leave a balance
// negative or fractional is rejected by the server even if a code path forgot its condition.
const wallet_validator = {
  $jsonSchema: {
    bsonType: 'object',
    required: ['user_token', 'currency', 'available_minor', 'held_minor', 'version'],
    properties: {
      user_token: { bsonType: 'string' },
      currency: { bsonType: 'string', pattern: '^[A-Z]{3}$' },
      available_minor: { bsonType: ['int', 'long', 'double'], minimum: 0, multipleOf: 1 },
      held_minor: { bsonType: ['int', 'long', 'double'], minimum: 0, multipleOf: 1 },
      version: { bsonType: ['int', 'long', 'double'], minimum: 0, multipleOf: 1 },
    },
  },
};

const validator_options = {
  validator: wallet_validator,
  validationLevel: 'strict',
  validationAction: 'error',
} as const;

// Create with the validator, or attach it to a collection made earlier (or concurrently by
// another instance starting: NamespaceExists, code 48).
async function ensureWalletValidator(db: Db): Promise<void> {
  const existing = await db.listCollections({ name: collection_names.wallets }, { nameOnly: true }).toArray();
  if (existing.length === 0) {
    try {
      await db.createCollection(collection_names.wallets, validator_options);
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 48) throw error;
    }
  }
  await db.command({ collMod: collection_names.wallets, ...validator_options });
}

// Idempotent: run at every start (creating an index that exists with the same spec is a no-op).
export async function ensureIndexes(db: Db): Promise<void> {
  await ensureWalletValidator(db);
  const collections = personalCollections(db);
  for (const name of Object.keys(personal_indexes) as (keyof PersonalCollections)[]) {
    await collections[name].createIndexes(personal_indexes[name]);
  }
}
