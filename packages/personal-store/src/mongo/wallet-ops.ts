import assert from 'node:assert/strict';
import type { ClientSession, Filter } from 'mongodb';
import { assertBalances, balanceDeltas, declineReason } from '../balance-rules.ts';
import { assertSameChange, assertSameDeposit } from '../common.ts';
import { PersonalConflictError, PersonalNotFoundError } from '../errors.ts';
import type {
  BalanceChangeInput,
  BalanceChangeResult,
  CreditDepositInput,
  CreditDepositResult,
  Wallet,
} from '../types.ts';
import type { BalanceChangeDoc, PersonalCollections, WalletDoc } from './collections.ts';
import { changeResultFromDoc, depositFromDoc, walletAfter, walletFromDoc } from './convert.ts';
import { shortfallPipeline } from './ledger-ops.ts';

// A deposit or balance change touches two documents (its record and the wallet) and both
// must commit together: the record is the idempotency guard and the ledger line, the wallet
// the balance. So each runs in one multi-document transaction (see transaction.ts), and the
// wallet write inside it is still conditional (findOneAndUpdate with $gte filters), so the
// balance check and the write are one atomic step whatever else runs.

async function walletMismatch(
  c: PersonalCollections,
  session: ClientSession,
  user_token: string,
  currency: string,
): Promise<never> {
  const current = await c.wallets.findOne({ user_token }, { session });
  if (current === null) throw new PersonalNotFoundError(`no wallet for user ${user_token}`);
  throw new PersonalConflictError(`${currency} on a ${current.currency} wallet`);
}

export async function creditDepositIn(
  c: PersonalCollections,
  session: ClientSession,
  at: Date,
  input: CreditDepositInput,
): Promise<CreditDepositResult> {
  const existing = await c.deposits.findOne({ deposit_id: input.deposit_id }, { session });
  if (existing !== null) {
    const deposit = depositFromDoc(existing);
    assertSameDeposit(deposit, input);
    return {
      deposit,
      wallet: walletAfter(deposit.user_token, deposit.currency, existing.wallet_after),
      replayed: true,
    };
  }
  const updated = await c.wallets.findOneAndUpdate(
    { user_token: input.user_token, currency: input.currency },
    // A shortfall left by a ledger movement that arrived early is paid back first.
    shortfallPipeline(input.credited_minor, 0, at),
    { session, returnDocument: 'after' },
  );
  if (updated === null) return walletMismatch(c, session, input.user_token, input.currency);
  const wallet = walletFromDoc(updated);
  assertBalances(wallet);
  const deposit = {
    deposit_id: input.deposit_id,
    user_token: input.user_token,
    crypto_currency: input.crypto_currency,
    crypto_amount: input.crypto_amount,
    rate: input.rate,
    credited_minor: input.credited_minor,
    currency: input.currency,
    wallet_after: {
      available_minor: wallet.available_minor,
      held_minor: wallet.held_minor,
      version: wallet.version,
    },
    created_at: at,
  };
  await c.deposits.insertOne(deposit, { session });
  return { deposit: depositFromDoc(deposit), wallet, replayed: false };
}

// The filter holds the whole condition: only a wallet whose balances stay >= 0 after the
// deltas matches, so a decline is "no document matched" and changes nothing.
function conditionalFilter(input: BalanceChangeInput): Filter<WalletDoc> {
  const deltas = balanceDeltas(input.kind, input.amount_minor);
  const filter: Filter<WalletDoc> = { user_token: input.user_token, currency: input.currency };
  if (deltas.available_delta < 0) filter.available_minor = { $gte: -deltas.available_delta };
  if (deltas.held_delta < 0) filter.held_minor = { $gte: -deltas.held_delta };
  return filter;
}

async function decide(
  c: PersonalCollections,
  session: ClientSession,
  at: Date,
  input: BalanceChangeInput,
): Promise<{ outcome: BalanceChangeDoc['outcome']; wallet: Wallet }> {
  const deltas = balanceDeltas(input.kind, input.amount_minor);
  const updated = await c.wallets.findOneAndUpdate(
    conditionalFilter(input),
    {
      $inc: { available_minor: deltas.available_delta, held_minor: deltas.held_delta, version: 1 },
      $set: { updated_at: at },
    },
    { session, returnDocument: 'after' },
  );
  if (updated !== null) {
    const wallet = walletFromDoc(updated);
    assertBalances(wallet);
    return { outcome: 'applied', wallet };
  }
  const current = await c.wallets.findOne({ user_token: input.user_token }, { session });
  if (current === null || current.currency !== input.currency) {
    return walletMismatch(c, session, input.user_token, input.currency);
  }
  // Same snapshot as the failed update: the wallet exists in this currency, so the only way the
  // filter missed is a balance that would go negative.
  const wallet = walletFromDoc(current);
  const reason = declineReason(wallet, deltas);
  assert.ok(reason !== null, 'a conditional update missed only for a reason the rules name');
  return { outcome: reason, wallet };
}

export async function applyBalanceChangeIn(
  c: PersonalCollections,
  session: ClientSession,
  at: Date,
  input: BalanceChangeInput,
): Promise<BalanceChangeResult> {
  const existing = await c.balance_changes.findOne({ change_id: input.change_id }, { session });
  if (existing !== null) {
    assertSameChange(existing, input);
    return changeResultFromDoc(existing, true);
  }
  const { outcome, wallet } = await decide(c, session, at, input);
  // Declines are recorded too: a repeat answers with the first outcome, even if the balance
  // has moved since.
  const record: BalanceChangeDoc = {
    change_id: input.change_id,
    user_token: input.user_token,
    kind: input.kind,
    amount_minor: input.amount_minor,
    currency: input.currency,
    ...(input.jit_token === undefined ? {} : { jit_token: input.jit_token }),
    ...(input.memo === undefined ? {} : { memo: input.memo }),
    outcome,
    wallet_after: {
      available_minor: wallet.available_minor,
      held_minor: wallet.held_minor,
      version: wallet.version,
    },
    created_at: at,
  };
  await c.balance_changes.insertOne(record, { session });
  return changeResultFromDoc(record, false);
}
