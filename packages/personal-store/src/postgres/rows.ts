import assert from 'node:assert/strict';
import type { Row } from 'postgres';
import type {
  CardState,
  KycStatus,
  PersonalCard,
  PersonalOpenHold,
  PersonalTransaction,
  PersonalUser,
  TransactionHistoryEntry,
  TransactionState,
  UserStatus,
  Wallet,
  WalletDeposit,
} from '../types.ts';

// postgres.js returns bigint columns as strings unless the pool (not ours: it is passed in)
// was configured otherwise; every minor amount goes through here and must be a safe integer.
export function toMinor(value: unknown): number {
  const number = typeof value === 'string' || typeof value === 'bigint' ? Number(value) : value;
  assert.ok(
    typeof number === 'number' && Number.isSafeInteger(number),
    `not a safe integer: ${String(value)}`,
  );
  return number;
}

function toDate(value: unknown): Date {
  assert.ok(value instanceof Date, 'timestamp column is a Date');
  return value;
}

function toText(value: unknown): string {
  assert.equal(typeof value, 'string');
  return value as string;
}

function toNullableText(value: unknown): string | null {
  return value === null ? null : toText(value);
}

// char(3) columns come back padded only if shorter; currencies are always three letters.
function toCurrency(value: unknown): string {
  return toText(value).trim();
}

export function userFromRow(row: Row): PersonalUser {
  return {
    user_token: toText(row.user_token),
    email: toText(row.email),
    kyc_status: toText(row.kyc_status) as KycStatus,
    wallet_address: toText(row.wallet_address),
    status: toText(row.status) as UserStatus,
    created_at: toDate(row.created_at),
    updated_at: toDate(row.updated_at),
  };
}

export function walletFromRow(row: Row): Wallet {
  return {
    user_token: toText(row.user_token),
    currency: toCurrency(row.currency),
    available_minor: toMinor(row.available_minor),
    held_minor: toMinor(row.held_minor),
    version: toMinor(row.version),
  };
}

// Deposit rows keep the wallet as it was right after them.
export function walletAfterFromRow(row: Row, currency: string): Wallet {
  return {
    user_token: toText(row.user_token),
    currency,
    available_minor: toMinor(row.available_after_minor),
    held_minor: toMinor(row.held_after_minor),
    version: toMinor(row.version_after),
  };
}

export function depositFromRow(row: Row): WalletDeposit {
  return {
    deposit_id: toText(row.deposit_id),
    user_token: toText(row.user_token),
    crypto_currency: toText(row.crypto_currency),
    crypto_amount: toText(row.crypto_amount),
    rate: toText(row.rate),
    credited_minor: toMinor(row.credited_minor),
    currency: toCurrency(row.currency),
    created_at: toDate(row.created_at),
  };
}

export function cardFromRow(row: Row): PersonalCard {
  return {
    card_token: toText(row.card_token),
    user_token: toText(row.user_token),
    state: toText(row.state) as CardState,
    currency: toCurrency(row.currency),
    expiration_month: Number(row.expiration_month),
    expiration_year: Number(row.expiration_year),
    last_four: toText(row.last_four),
    failure_reason: toNullableText(row.failure_reason),
    card_product_token: toNullableText(row.card_product_token),
    created_at: toDate(row.created_at),
    updated_at: toDate(row.updated_at),
  };
}

export function historyFromRow(row: Row): TransactionHistoryEntry {
  return {
    event_id: toText(row.event_id),
    state: toText(row.state) as TransactionState,
    occurred_at: toDate(row.occurred_at),
    authorized_minor: toMinor(row.authorized_minor),
    cleared_minor: toMinor(row.cleared_minor),
    reversed_minor: toMinor(row.reversed_minor),
    refunded_minor: toMinor(row.refunded_minor),
    kind: row.kind === null || row.kind === undefined ? null : toText(row.kind),
    details:
      row.details === null || row.details === undefined ? null : (row.details as Record<string, unknown>),
  };
}

function toNullableDate(value: unknown): Date | null {
  return value === null || value === undefined ? null : toDate(value);
}

export function transactionFromRow(
  row: Row,
  history: readonly TransactionHistoryEntry[],
): PersonalTransaction {
  return {
    jit_token: toText(row.jit_token),
    card_token: toText(row.card_token),
    user_token: toText(row.user_token),
    currency: toCurrency(row.currency),
    state: toText(row.state) as TransactionState,
    state_at: toDate(row.state_at),
    authorized_minor: toMinor(row.authorized_minor),
    cleared_minor: toMinor(row.cleared_minor),
    reversed_minor: toMinor(row.reversed_minor),
    refunded_minor: toMinor(row.refunded_minor),
    requested_minor: toMinor(row.requested_minor),
    decline_reason: toNullableText(row.decline_reason),
    memo: toNullableText(row.memo),
    method: toNullableText(row.method),
    network: toNullableText(row.network),
    marqeta_transaction_token: toNullableText(row.marqeta_transaction_token),
    original_jit_token: toNullableText(row.original_jit_token),
    expires_at: toNullableDate(row.expires_at),
    merchant: {
      mid: toNullableText(row.merchant_mid),
      name: toNullableText(row.merchant_name),
      mcc: toNullableText(row.merchant_mcc),
      city: toNullableText(row.merchant_city),
      country_code: toNullableText(row.merchant_country_code),
    },
    history,
    created_at: toDate(row.created_at),
    updated_at: toDate(row.updated_at),
  };
}

export function openHoldFromRow(row: Row): PersonalOpenHold {
  const state = toText(row.state);
  assert.ok(state === 'pending' || state === 'partially_cleared', `open hold state: ${state}`);
  return {
    jit_token: toText(row.jit_token),
    card_token: toText(row.card_token),
    user_token: toText(row.user_token),
    currency: toCurrency(row.currency),
    state,
    method: toNullableText(row.method),
    authorized_minor: toMinor(row.authorized_minor),
    cleared_minor: toMinor(row.cleared_minor),
    reversed_minor: toMinor(row.reversed_minor),
    created_at: toDate(row.created_at),
    expires_at: toNullableDate(row.expires_at),
  };
}

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const candidate = error as { code?: unknown; constraint_name?: unknown } | null;
  return (
    candidate !== null &&
    typeof candidate === 'object' &&
    candidate.code === '23505' &&
    (constraint === undefined || candidate.constraint_name === constraint)
  );
}

// For statements that return exactly one row by construction (an update under a row lock,
// an insert ... returning): anything else is a bug.
export function one(rows: readonly Row[]): Row {
  const [row] = rows;
  assert.ok(row !== undefined, 'statement returned its row');
  return row;
}
