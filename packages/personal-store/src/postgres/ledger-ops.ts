import type { Sql, TransactionSql } from '@afc/postgres';
import { assertSameTransactionOwner, latestOf } from '../common.ts';
import { PersonalNotFoundError } from '../errors.ts';
import { withRetry } from '../retry.ts';
import type {
  LedgerDerive,
  LedgerEntry,
  LedgerEventInput,
  LedgerRowFields,
  RecordLedgerEventResult,
} from '../types.ts';
import { isUniqueViolation, one } from './rows.ts';
import { loadTransaction } from './transaction-ops.ts';

// Events of one jit_token are serialised by the transaction row's lock (taken by the upsert
// that creates or touches it), so each derive sees every committed event of its row. A
// concurrent copy of the same event loses on the event's primary key and runs again, when it
// finds the event recorded: a duplicate.
const copy_race_retry = { max_attempts: 3, base_delay_ms: 2, max_delay_ms: 20 };

export async function recordLedgerEvent(
  sql: Sql,
  now: () => Date,
  input: LedgerEventInput,
  derive: LedgerDerive,
): Promise<RecordLedgerEventResult> {
  return withRetry(
    () => sql.begin((tx) => recordOnce(tx, now(), input, derive)),
    (error) => isUniqueViolation(error, 'transaction_events_pkey'),
    copy_race_retry,
  );
}

async function recordOnce(
  tx: TransactionSql,
  at: Date,
  input: LedgerEventInput,
  derive: LedgerDerive,
): Promise<RecordLedgerEventResult> {
  const [seen] =
    await tx`select jit_token from personal.transaction_events where event_id = ${input.event_id}`;
  if (seen !== undefined) {
    const transaction = await loadTransaction(tx, seen.jit_token as string);
    if (transaction === null) throw new PersonalNotFoundError(`transaction of event ${input.event_id}`);
    assertSameTransactionOwner(transaction, input);
    return { outcome: 'duplicate', transaction };
  }
  const row = one(
    await tx`
    insert into personal.transactions (jit_token, card_token, user_token, currency, state, state_at,
      authorized_minor, cleared_minor, reversed_minor, refunded_minor, created_at, updated_at)
    values (${input.jit_token}, ${input.card_token}, ${input.user_token}, ${input.currency}, 'pending',
      ${input.occurred_at}, 0, 0, 0, 0, ${input.occurred_at}, ${at})
    on conflict (jit_token) do update set jit_token = excluded.jit_token
    returning jit_token, card_token, user_token`,
  );
  assertSameTransactionOwner(
    {
      jit_token: row.jit_token as string,
      card_token: row.card_token as string,
      user_token: row.user_token as string,
    },
    input,
  );
  const stored = await tx<{ event_id: string; details: Record<string, unknown> }[]>`
    select event_id, details from personal.transaction_events
    where jit_token = ${input.jit_token} and details is not null`;
  const entries: LedgerEntry[] = [...stored, { event_id: input.event_id, details: input.details }];
  const derived = derive(entries);
  await tx`
    insert into personal.transaction_events (event_id, jit_token, state, occurred_at, authorized_minor,
      cleared_minor, reversed_minor, refunded_minor, recorded_at, kind, amount_minor, details)
    values (${input.event_id}, ${input.jit_token}, ${derived.state}, ${input.occurred_at},
      ${input.authorized_minor}, ${input.cleared_minor}, ${input.reversed_minor}, ${input.refunded_minor}, ${at},
      ${input.kind}, ${input.amount_minor}, ${tx.json(JSON.parse(JSON.stringify(input.details)))})`;
  await updateRow(tx, input.jit_token, derived, latestOf(entries, input), at);
  await moveWallet(tx, input, at);
  const transaction = await loadTransaction(tx, input.jit_token);
  if (transaction === null) throw new PersonalNotFoundError(`transaction ${input.jit_token}`);
  return { outcome: 'applied', transaction };
}

async function updateRow(
  tx: TransactionSql,
  jit_token: string,
  d: LedgerRowFields,
  state_at: Date,
  at: Date,
) {
  await tx`
    update personal.transactions set state = ${d.state}, state_at = ${state_at},
      requested_minor = ${d.requested_minor}, authorized_minor = ${d.authorized_minor},
      cleared_minor = ${d.cleared_minor}, reversed_minor = ${d.reversed_minor},
      refunded_minor = ${d.refunded_minor}, decline_reason = ${d.decline_reason}, memo = ${d.memo},
      method = ${d.method}, network = ${d.network}, marqeta_transaction_token = ${d.marqeta_transaction_token},
      original_jit_token = ${d.original_jit_token}, merchant_mid = ${d.merchant.mid},
      merchant_name = ${d.merchant.name}, merchant_mcc = ${d.merchant.mcc}, merchant_city = ${d.merchant.city},
      merchant_country_code = ${d.merchant.country_code}, created_at = ${d.created_at},
      expires_at = ${d.expires_at}, updated_at = ${at}
    where jit_token = ${jit_token}`;
}

// available - shortfall is the signed balance; each side moves by its delta and is split again
// into a displayed part (>= 0) and a shortfall (>= 0). In one UPDATE every right-hand side reads
// the row as it was, so the pairs are computed from the same old values.
async function moveWallet(tx: TransactionSql, input: LedgerEventInput, at: Date): Promise<void> {
  const { available_minor: da, held_minor: dh } = input.balance_delta;
  if (da === 0 && dh === 0) return;
  const moved = await tx`
    update personal.wallets set
      available_minor = greatest(0, available_minor - available_shortfall_minor + ${da}::int8),
      available_shortfall_minor = greatest(0, available_shortfall_minor - available_minor - ${da}::int8),
      held_minor = greatest(0, held_minor - held_shortfall_minor + ${dh}::int8),
      held_shortfall_minor = greatest(0, held_shortfall_minor - held_minor - ${dh}::int8),
      version = version + 1, updated_at = ${at}
    where user_token = ${input.user_token} and currency = ${input.currency}
    returning user_token`;
  if (moved.length === 0)
    throw new PersonalNotFoundError(`no ${input.currency} wallet for user ${input.user_token}`);
}
