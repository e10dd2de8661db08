import type { Sql, TransactionSql } from '@afc/postgres';
import { assertBalances } from '../balance-rules.ts';
import { assertSameDeposit } from '../common.ts';
import { PersonalConflictError, PersonalNotFoundError } from '../errors.ts';
import { withRetry } from '../retry.ts';
import type { CreditDepositInput, CreditDepositResult, Wallet } from '../types.ts';
import { depositFromRow, isUniqueViolation, one, walletAfterFromRow, walletFromRow } from './rows.ts';

// A deposit runs in one transaction that first locks the wallet row (FOR UPDATE): changes to
// one wallet are serialised, so the id lookup and the write see one consistent state, and a
// concurrent repeat of the same id waits and then finds it.

// Two different wallets can race to insert the same deposit id; the loser's transaction fails
// on the primary key and is run again, when it finds the winner's record.
const id_race_retry = { max_attempts: 3, base_delay_ms: 2, max_delay_ms: 20 };

async function lockWallet(tx: TransactionSql, user_token: string): Promise<Wallet> {
  const [row] = await tx`select * from personal.wallets where user_token = ${user_token} for update`;
  if (row === undefined) throw new PersonalNotFoundError(`no wallet for user ${user_token}`);
  return walletFromRow(row);
}

export async function creditDeposit(
  sql: Sql,
  now: () => Date,
  input: CreditDepositInput,
): Promise<CreditDepositResult> {
  return withRetry(
    () => sql.begin((tx) => creditDepositOnce(tx, now(), input)),
    (error) => isUniqueViolation(error, 'wallet_deposits_pkey'),
    id_race_retry,
  );
}

async function creditDepositOnce(
  tx: TransactionSql,
  at: Date,
  input: CreditDepositInput,
): Promise<CreditDepositResult> {
  const wallet = await lockWallet(tx, input.user_token);
  const [existing] = await tx`select * from personal.wallet_deposits where deposit_id = ${input.deposit_id}`;
  if (existing !== undefined) {
    const deposit = depositFromRow(existing);
    assertSameDeposit(deposit, input);
    return { deposit, wallet: walletAfterFromRow(existing, wallet.currency), replayed: true };
  }
  if (wallet.currency !== input.currency) {
    throw new PersonalConflictError(`deposit in ${input.currency} to a ${wallet.currency} wallet`);
  }
  // A shortfall left by a ledger movement that arrived early is paid back first (see 0006).
  const updated = one(
    await tx`
    update personal.wallets
    set available_minor = greatest(0, available_minor - available_shortfall_minor + ${input.credited_minor}::int8),
        available_shortfall_minor = greatest(0, available_shortfall_minor - available_minor - ${input.credited_minor}::int8),
        version = version + 1, updated_at = ${at}
    where user_token = ${input.user_token}
    returning *`,
  );
  const after = walletFromRow(updated);
  assertBalances(after);
  const row = one(
    await tx`
    insert into personal.wallet_deposits (
      deposit_id, user_token, crypto_currency, crypto_amount, rate, credited_minor, currency,
      available_after_minor, held_after_minor, version_after, created_at
    ) values (
      ${input.deposit_id}, ${input.user_token}, ${input.crypto_currency}, ${input.crypto_amount}, ${input.rate},
      ${input.credited_minor}, ${input.currency}, ${after.available_minor}, ${after.held_minor}, ${after.version}, ${at}
    ) returning *`,
  );
  return { deposit: depositFromRow(row), wallet: after, replayed: false };
}

export async function getWallet(sql: Sql, user_token: string): Promise<Wallet | null> {
  const [row] = await sql`select * from personal.wallets where user_token = ${user_token}`;
  return row === undefined ? null : walletFromRow(row);
}
