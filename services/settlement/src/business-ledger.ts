import assert from 'node:assert/strict';
import type { OutboxEvent } from '@afc/card-state';
import type { PostgresClient, TransactionSql } from '@afc/postgres';
import { SettlementError } from './errors.ts';
import { type Contribution, contributionOf, type DerivedRow, deriveRow, ledgerToken } from './ledger.ts';

export type RecordOutcome = 'applied' | 'duplicate';

interface CardRow {
  readonly id: string;
  readonly user_id: string;
  readonly company_id: string;
}

interface LedgerRow {
  readonly id: string;
  readonly card_id: string;
  readonly state: DerivedRow['state'];
}

const day_ms = 86_400_000;

function dateOfDay(day: number): string {
  assert.ok(Number.isSafeInteger(day), 'window start is a day number');
  return new Date(day * day_ms).toISOString().slice(0, 10);
}

async function cardOf(tx: TransactionSql, event: OutboxEvent): Promise<CardRow> {
  const [card] = await tx<CardRow[]>`
    select c.id, c.user_id, c.company_id from cards c join users u on u.id = c.user_id
    where c.card_token = ${event.card_token} and u.user_token = ${event.user_token}`;
  // The authorizer approved against Redis, which is loaded from these tables: a business card
  // it knows and we do not is a bug or a race with the control plane. Retried, then parked.
  if (card === undefined) throw new SettlementError('AFC_SETTLEMENT_CARD_NOT_FOUND', event.event_id);
  return card;
}

// Creates the row if this is its first event (whatever its kind), and locks it: events of one
// hold are applied one at a time, each seeing the others' committed contributions.
async function lockRow(
  tx: TransactionSql,
  event: OutboxEvent,
  card: CardRow,
  hold_expiry_ms: number,
): Promise<LedgerRow> {
  const created_at = new Date(event.occurred_at_ms);
  const [row] = await tx<LedgerRow[]>`
    insert into transactions (jit_token, card_id, user_id, company_id, method, state, currency_code,
      requested_minor, created_at, expires_at)
    values (${ledgerToken(event)}, ${card.id}, ${card.user_id}, ${card.company_id}, ${event.method},
      'pending', ${event.currency}, 0, ${created_at}, ${new Date(event.occurred_at_ms + hold_expiry_ms)})
    on conflict (jit_token) do update set jit_token = excluded.jit_token
    returning id, card_id, state`;
  assert.ok(row !== undefined, 'upsert returns the row');
  if (row.card_id !== card.id) throw new SettlementError('AFC_SETTLEMENT_CARD_MISMATCH', event.event_id);
  return row;
}

async function insertEvent(
  tx: TransactionSql,
  event: OutboxEvent,
  row: LedgerRow,
  derived: DerivedRow,
  contribution: Contribution,
): Promise<boolean> {
  const inserted = await tx`
    insert into transaction_events (transaction_id, event_id, kind, amount_minor, currency_code,
      state_before, state_after, occurred_at, details)
    values (${row.id}, ${event.event_id}, ${event.type}, ${Math.max(0, event.amount_minor)}, ${event.currency},
      ${row.state}, ${derived.state}, ${new Date(event.occurred_at_ms)}, ${tx.json(contributionJson(contribution))})
    on conflict (event_id) do nothing
    returning id`;
  return inserted.length === 1;
}

function contributionJson(contribution: Contribution): Parameters<TransactionSql['json']>[0] {
  return JSON.parse(JSON.stringify(contribution));
}

async function updateRow(tx: TransactionSql, row: LedgerRow, d: DerivedRow, hold_expiry_ms: number) {
  const p = d.primary;
  await tx`
    update transactions set state = ${d.state}, requested_minor = ${d.requested_minor},
      authorized_minor = ${d.authorized_minor}, cleared_minor = ${d.cleared_minor},
      reversed_minor = ${d.reversed_minor}, refunded_minor = ${d.refunded_minor},
      decline_reason = ${d.decline_reason}, memo = ${d.memo}, method = ${p.method},
      original_jit_token = ${p.type === 'authorization.declined' ? p.original_jit_token : null},
      merchant_mid = ${p.merchant.mid}, merchant_mcc = ${p.merchant.mcc},
      merchant_name = ${p.merchant.name ?? null}, merchant_country = ${p.merchant.country},
      network = ${p.network}, marqeta_transaction_token = ${p.transaction_token},
      created_at = ${new Date(d.created_at_ms)}, expires_at = ${new Date(d.created_at_ms + hold_expiry_ms)}
    where id = ${row.id}`;
}

// One event, in one transaction: its history row (unique event_id: a repeat changes nothing),
// the ledger row re-derived from all its events, and the spending totals of its windows.
export async function recordBusinessEvent(
  postgres: PostgresClient,
  event: OutboxEvent,
  hold_expiry_ms: number,
): Promise<RecordOutcome> {
  return postgres.transaction(async (tx) => {
    const seen = await tx`select 1 from transaction_events where event_id = ${event.event_id}`;
    if (seen.length > 0) return 'duplicate';
    const card = await cardOf(tx, event);
    const row = await lockRow(tx, event, card, hold_expiry_ms);
    const stored = await tx<{ event_id: string; details: Contribution }[]>`
      select event_id, details from transaction_events where transaction_id = ${row.id}`;
    const contribution = contributionOf(event);
    const derived = deriveRow([...stored, { event_id: event.event_id, details: contribution }].map(asStored));
    // A concurrent copy of this event committed first: roll back, the retry sees a duplicate.
    if (!(await insertEvent(tx, event, row, derived, contribution)))
      throw new SettlementError('AFC_SETTLEMENT_CONCURRENT_COPY', event.event_id);
    await updateRow(tx, row, derived, hold_expiry_ms);
    await applyCounterDeltas(tx, event, card);
    return 'applied';
  });
}

function asStored(entry: { event_id: string; details: Contribution }) {
  return { event_id: entry.event_id, contribution: entry.details };
}

const window_kinds = ['day', 'week', 'month'] as const;

// Records the event's deltas, then recomputes each window it touches as the floored sum of
// every delta recorded for it: equal to Redis's counters once all events are in, whatever the
// order they arrived in. The window rows are locked first (sorted: one order for every event
// of the card), so a concurrent event's sum waits for this one's deltas instead of missing them.
async function applyCounterDeltas(tx: TransactionSql, event: OutboxEvent, card: CardRow): Promise<void> {
  const windows = new Map<string, { kind: string; start: string }>();
  for (const delta of event.counter_deltas) {
    const counts = delta.amount_minor >= 0 && delta.count >= 0;
    const gives_back = delta.amount_minor <= 0 && delta.count <= 0;
    assert.ok(counts || gives_back, 'a counter delta either counts or gives back, never both');
    for (const kind of window_kinds) {
      const start = dateOfDay(delta[`${kind}_start`]);
      windows.set(`${kind}:${start}`, { kind, start });
    }
  }
  const sorted = [...windows.keys()].sort().map((key) => windows.get(key) as { kind: string; start: string });
  for (const window of sorted) await lockWindow(tx, card.id, window.kind, window.start, event.currency);
  for (const [ordinal, delta] of event.counter_deltas.entries()) {
    for (const kind of window_kinds) {
      await tx`
        insert into spending_total_deltas (event_id, ordinal, window_kind, card_id, window_start,
          currency_code, amount_minor, count)
        values (${event.event_id}, ${ordinal}, ${kind}, ${card.id}, ${dateOfDay(delta[`${kind}_start`])},
          ${event.currency}, ${delta.amount_minor}, ${delta.count})`;
    }
  }
  for (const window of sorted) await recomputeWindow(tx, card.id, window.kind, window.start);
}

async function lockWindow(
  tx: TransactionSql,
  card_id: string,
  kind: string,
  start: string,
  currency: string,
) {
  await tx`
    insert into spending_totals (card_id, window_kind, window_start, currency_code)
    values (${card_id}, ${kind}, ${start}, ${currency})
    on conflict (card_id, window_kind, window_start) do nothing`;
  await tx`
    select 1 from spending_totals
    where card_id = ${card_id} and window_kind = ${kind} and window_start = ${start} for update`;
}

async function recomputeWindow(tx: TransactionSql, card_id: string, kind: string, start: string) {
  const [sum] = await tx<{ amount_minor: number; count: number }[]>`
    select coalesce(sum(amount_minor), 0)::int8 as amount_minor, coalesce(sum(count), 0)::int8 as count
    from spending_total_deltas where card_id = ${card_id} and window_kind = ${kind} and window_start = ${start}`;
  assert.ok(sum !== undefined);
  // Below zero only while a give-back has arrived before what it gives back.
  const amount_minor = Math.max(0, sum.amount_minor);
  const count = Math.max(0, sum.count);
  assert.ok(Number.isSafeInteger(amount_minor) && Number.isSafeInteger(count), 'totals are safe integers');
  await tx`
    update spending_totals set amount_minor = ${amount_minor}, count = ${count}
    where card_id = ${card_id} and window_kind = ${kind} and window_start = ${start}`;
}
