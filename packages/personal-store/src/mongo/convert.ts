import assert from 'node:assert/strict';
import type {
  PersonalCard,
  PersonalOpenHold,
  PersonalTransaction,
  PersonalUser,
  Wallet,
  WalletDeposit,
} from '../types.ts';
import type { CardDoc, DepositDoc, TransactionDoc, UserDoc, WalletAfter, WalletDoc } from './collections.ts';

// Documents carry _id and bookkeeping the API does not expose; these copy exactly the API's
// fields, so both backends answer with objects of the same shape.

function minor(value: number): number {
  assert.ok(Number.isSafeInteger(value), `stored amount is a safe integer: ${value}`);
  return value;
}

export function userFromDoc(doc: UserDoc): PersonalUser {
  return {
    user_token: doc.user_token,
    email: doc.email,
    kyc_status: doc.kyc_status,
    wallet_address: doc.wallet_address,
    status: doc.status,
    created_at: doc.created_at,
    updated_at: doc.updated_at,
  };
}

export function walletFromDoc(doc: WalletDoc): Wallet {
  return {
    user_token: doc.user_token,
    currency: doc.currency,
    available_minor: minor(doc.available_minor),
    held_minor: minor(doc.held_minor),
    version: minor(doc.version),
  };
}

export function walletAfter(user_token: string, currency: string, after: WalletAfter): Wallet {
  return {
    user_token,
    currency,
    available_minor: minor(after.available_minor),
    held_minor: minor(after.held_minor),
    version: minor(after.version),
  };
}

export function depositFromDoc(doc: DepositDoc): WalletDeposit {
  return {
    deposit_id: doc.deposit_id,
    user_token: doc.user_token,
    crypto_currency: doc.crypto_currency,
    crypto_amount: doc.crypto_amount,
    rate: doc.rate,
    credited_minor: minor(doc.credited_minor),
    currency: doc.currency,
    created_at: doc.created_at,
  };
}

export function cardFromDoc(doc: CardDoc): PersonalCard {
  return {
    card_token: doc.card_token,
    user_token: doc.user_token,
    state: doc.state,
    currency: doc.currency,
    expiration_month: doc.expiration_month,
    expiration_year: doc.expiration_year,
    last_four: doc.last_four,
    failure_reason: doc.failure_reason ?? null,
    card_product_token: doc.card_product_token ?? null,
    created_at: doc.created_at,
    updated_at: doc.updated_at,
  };
}

export function transactionFromDoc(doc: TransactionDoc): PersonalTransaction {
  return {
    jit_token: doc.jit_token,
    card_token: doc.card_token,
    user_token: doc.user_token,
    currency: doc.currency,
    state: doc.state,
    state_at: doc.state_at,
    authorized_minor: minor(doc.authorized_minor),
    cleared_minor: minor(doc.cleared_minor),
    reversed_minor: minor(doc.reversed_minor),
    refunded_minor: minor(doc.refunded_minor),
    requested_minor: minor(doc.requested_minor ?? 0),
    decline_reason: doc.decline_reason ?? null,
    memo: doc.memo ?? null,
    method: doc.method ?? null,
    network: doc.network ?? null,
    marqeta_transaction_token: doc.marqeta_transaction_token ?? null,
    original_jit_token: doc.original_jit_token ?? null,
    expires_at: doc.expires_at ?? null,
    merchant: {
      mid: doc.merchant.mid ?? null,
      name: doc.merchant.name ?? null,
      mcc: doc.merchant.mcc ?? null,
      city: doc.merchant.city ?? null,
      country_code: doc.merchant.country_code ?? null,
    },
    history: doc.history.map((entry) => ({
      event_id: entry.event_id,
      state: entry.state,
      occurred_at: entry.occurred_at,
      authorized_minor: minor(entry.authorized_minor),
      cleared_minor: minor(entry.cleared_minor),
      reversed_minor: minor(entry.reversed_minor),
      refunded_minor: minor(entry.refunded_minor),
      kind: entry.kind ?? null,
      details: entry.details ?? null,
    })),
    created_at: doc.created_at,
    updated_at: doc.updated_at,
  };
}

// A document projected to the open-hold fields (listExpiredOpenHolds, listOpenHoldsAfter).
export function openHoldFromDoc(doc: Partial<TransactionDoc>): PersonalOpenHold {
  const { state } = doc;
  assert.ok(state === 'pending' || state === 'partially_cleared', `open hold state: ${state}`);
  assert.ok(doc.jit_token && doc.card_token && doc.user_token && doc.currency && doc.created_at);
  return {
    jit_token: doc.jit_token,
    card_token: doc.card_token,
    user_token: doc.user_token,
    currency: doc.currency,
    state,
    method: doc.method ?? null,
    authorized_minor: minor(doc.authorized_minor ?? Number.NaN),
    cleared_minor: minor(doc.cleared_minor ?? Number.NaN),
    reversed_minor: minor(doc.reversed_minor ?? Number.NaN),
    created_at: doc.created_at,
    expires_at: doc.expires_at ?? null,
  };
}
