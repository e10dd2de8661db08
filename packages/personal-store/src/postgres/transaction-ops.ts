import assert from 'node:assert/strict';
import type { Sql, TransactionSql } from '@afc/postgres';
import type { Row } from 'postgres';
import { assertSameTransactionOwner, eventAmounts, merchantOf } from '../common.ts';
import { decodeCursor, toPage } from '../cursor.ts';
import type {
  Page,
  PageRequest,
  PersonalTransaction,
  RecordTransactionEventResult,
  TransactionEventInput,
  TransactionHistoryEntry,
} from '../types.ts';
import { historyFromRow, one, transactionFromRow } from './rows.ts';

async function withHistory(sql: Sql | TransactionSql, rows: readonly Row[]): Promise<PersonalTransaction[]> {
  if (rows.length === 0) return [];
  const tokens = rows.map((row) => row.jit_token as string);
  const events = await sql`
    select * from personal.transaction_events where jit_token = any(${tokens}::text[]) order by seq`;
  const by_token = new Map<string, TransactionHistoryEntry[]>();
  for (const event of events) {
    const list = by_token.get(event.jit_token as string) ?? [];
    list.push(historyFromRow(event));
    by_token.set(event.jit_token as string, list);
  }
  return rows.map((row) => transactionFromRow(row, by_token.get(row.jit_token as string) ?? []));
}

export async function loadTransaction(
  sql: Sql | TransactionSql,
  jit_token: string,
): Promise<PersonalTransaction | null> {
  const rows = await sql`select * from personal.transactions where jit_token = ${jit_token}`;
  const [transaction] = await withHistory(sql, rows);
  return transaction ?? null;
}

export function getTransaction(sql: Sql, jit_token: string): Promise<PersonalTransaction | null> {
  return loadTransaction(sql, jit_token);
}

// The event row goes first: its primary key is the replay guard (a concurrent repeat waits on
// it, then does nothing). Only a new event adds its amounts to the transaction row, whose state
// follows the event that occurred last, so out-of-order webhooks end in the same record.
export async function recordTransactionEvent(
  sql: Sql,
  now: () => Date,
  input: TransactionEventInput,
): Promise<RecordTransactionEventResult> {
  return sql.begin(async (tx) => {
    const at = now();
    const amounts = eventAmounts(input);
    const [inserted] = await tx`
      insert into personal.transaction_events (
        event_id, jit_token, state, occurred_at, authorized_minor, cleared_minor, reversed_minor, refunded_minor,
        recorded_at
      ) values (
        ${input.event_id}, ${input.jit_token}, ${input.state}, ${input.occurred_at}, ${amounts.authorized_minor},
        ${amounts.cleared_minor}, ${amounts.reversed_minor}, ${amounts.refunded_minor}, ${at}
      )
      on conflict (event_id) do nothing
      returning event_id`;
    if (inserted === undefined) return replayed(tx, input);
    const merchant = merchantOf(input);
    const row = one(
      await tx`
      insert into personal.transactions as t (
        jit_token, card_token, user_token, currency, state, state_at,
        authorized_minor, cleared_minor, reversed_minor, refunded_minor,
        merchant_mid, merchant_name, merchant_mcc, merchant_city, merchant_country_code, created_at, updated_at
      ) values (
        ${input.jit_token}, ${input.card_token}, ${input.user_token}, ${input.currency}, ${input.state},
        ${input.occurred_at}, ${amounts.authorized_minor}, ${amounts.cleared_minor}, ${amounts.reversed_minor},
        ${amounts.refunded_minor}, ${merchant.mid}, ${merchant.name}, ${merchant.mcc}, ${merchant.city},
        ${merchant.country_code}, ${at}, ${at}
      )
      on conflict (jit_token) do update set
        state = case when excluded.state_at >= t.state_at then excluded.state else t.state end,
        state_at = greatest(t.state_at, excluded.state_at),
        authorized_minor = t.authorized_minor + excluded.authorized_minor,
        cleared_minor = t.cleared_minor + excluded.cleared_minor,
        reversed_minor = t.reversed_minor + excluded.reversed_minor,
        refunded_minor = t.refunded_minor + excluded.refunded_minor,
        merchant_mid = coalesce(t.merchant_mid, excluded.merchant_mid),
        merchant_name = coalesce(t.merchant_name, excluded.merchant_name),
        merchant_mcc = coalesce(t.merchant_mcc, excluded.merchant_mcc),
        merchant_city = coalesce(t.merchant_city, excluded.merchant_city),
        merchant_country_code = coalesce(t.merchant_country_code, excluded.merchant_country_code),
        updated_at = excluded.updated_at
      returning *`,
    );
    const [transaction] = await withHistory(tx, [row]);
    assert.ok(transaction !== undefined);
    // Throwing here rolls the whole event back: an event that names another card or user
    // than the transaction it belongs to changes nothing.
    assertSameTransactionOwner(transaction, input);
    return { transaction, replayed: false };
  });
}

async function replayed(
  tx: TransactionSql,
  input: TransactionEventInput,
): Promise<RecordTransactionEventResult> {
  // The conflicting event was committed (on conflict do nothing waits for its transaction),
  // and its deferred foreign key guarantees its transaction row.
  const event = one(
    await tx`select jit_token from personal.transaction_events where event_id = ${input.event_id}`,
  );
  const transaction = await loadTransaction(tx, event.jit_token as string);
  assert.ok(transaction !== null, 'an event row has its transaction');
  assertSameTransactionOwner(transaction, input);
  return { transaction, replayed: true };
}

export async function listTransactions(
  sql: Sql,
  by: { readonly column: 'card_token' | 'user_token'; readonly token: string },
  limit: number,
  page: PageRequest | undefined,
): Promise<Page<PersonalTransaction>> {
  const after = page?.cursor === undefined ? null : decodeCursor(page.cursor);
  const rows = await sql`
    select * from personal.transactions
    where ${sql(by.column)} = ${by.token}
      ${after === null ? sql`` : sql`and (created_at, jit_token) < (${after.created_at}, ${after.jit_token})`}
    order by created_at desc, jit_token desc
    limit ${limit + 1}`;
  return toPage(await withHistory(sql, rows), limit);
}
