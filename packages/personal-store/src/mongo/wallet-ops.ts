import type { ClientSession } from 'mongodb';
import { assertBalances } from '../balance-rules.ts';
import { assertSameDeposit } from '../common.ts';
import { PersonalConflictError, PersonalNotFoundError } from '../errors.ts';
import type { CreditDepositInput, CreditDepositResult } from '../types.ts';
import type { PersonalCollections } from './collections.ts';
import { depositFromDoc, walletAfter, walletFromDoc } from './convert.ts';
import { shortfallPipeline } from './ledger-ops.ts';

// A deposit touches two documents (its record and the wallet) and both must commit together:
// the record is the idempotency guard and the ledger line, the wallet the balance. So it runs
// in one multi-document transaction (see transaction.ts).

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
