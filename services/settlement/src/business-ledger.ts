import assert from 'node:assert/strict';
import type { PostgresClient, TransactionSql } from '@afc/postgres';
import { SettlementError } from './errors.ts';
import { type Contribution, type DerivedRow, deriveRow } from './ledger.ts';
import type { LedgerInput } from './ledger-input.ts';

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

// The replay guard and the card in one round trip: a repeat is a duplicate whatever its card.
async function cardUnlessSeen(tx: TransactionSql, event: LedgerInput): Promise<CardRow | 'duplicate'> {
  const [found] = await tx<(Partial<CardRow> & { seen: boolean })[]>`
    select exists (select 1 from transaction_events where event_id = ${event.event_id}) as seen,
      c.id, c.user_id, c.company_id
    from (select 1) as one
    left join (cards c join users u on u.id = c.user_id)
      on c.card_token = ${event.card_token} and u.user_token = ${event.user_token}`;
  assert.ok(found !== undefined, 'one row whatever matched');
  if (found.seen) return 'duplicate';
  // The authorizer approved against Redis, which is loaded from these tables: a business card
  // it knows and we do not is a bug or a race with the control plane. Retried, then parked.
  if (found.id == null || found.user_id == null || found.company_id == null)
    throw new SettlementError('AFC_SETTLEMENT_CARD_NOT_FOUND', event.event_id);
  return { id: found.id, user_id: found.user_id, company_id: found.company_id };
}

// Creates the row if this is its first event (whatever its kind), and locks it: events of one
// hold are applied one at a time, each seeing the others' committed contributions.
async function lockRow(
  tx: TransactionSql,
  event: LedgerInput,
  card: CardRow,
  hold_expiry_ms: number,
): Promise<LedgerRow> {
  const created_at = new Date(event.occurred_at_ms);
  const [row] = await tx<LedgerRow[]>`
    insert into transactions (jit_token, card_id, user_id, company_id, method, state, currency_code,
      requested_minor, created_at, expires_at)
    values (${event.ledger_token}, ${card.id}, ${card.user_id}, ${card.company_id}, ${event.contribution.method},
      'pending', ${event.currency}, 0, ${created_at}, ${new Date(event.occurred_at_ms + hold_expiry_ms)})
    on conflict (jit_token) do update set jit_token = excluded.jit_token
    returning id, card_id, state`;
  assert.ok(row !== undefined, 'upsert returns the row');
  if (row.card_id !== card.id) throw new SettlementError('AFC_SETTLEMENT_CARD_MISMATCH', event.event_id);
  return row;
}

// A type cast, not a copy: postgres.js serializes the value with JSON.stringify when it sends
// it, which drops undefined fields as a JSON round trip would.
function asJson(value: unknown): Parameters<TransactionSql['json']>[0] {
  return value as Parameters<TransactionSql['json']>[0];
}

// The history row, the re-derived ledger row, the counter deltas and their windows in one
// statement. Everything after the history insert runs only when the insert did (the event id is
// unique): a concurrent copy that committed first inserts nothing and changes nothing. The
// ledger row is already locked by lockRow; the windows are created in their lock order.
async function recordEvent(
  tx: TransactionSql,
  event: LedgerInput,
  ids: { readonly row: LedgerRow; readonly card: CardRow },
  d: DerivedRow,
  counts: ReturnType<typeof deltaRows>,
  hold_expiry_ms: number,
): Promise<boolean> {
  const { row, card } = ids;
  const p = d.primary;
  const [result] = await tx<{ inserted: number; updated: number }[]>`
    with inserted as (
      insert into transaction_events (transaction_id, event_id, kind, amount_minor, currency_code,
        state_before, state_after, occurred_at, details)
      values (${row.id}, ${event.event_id}, ${event.kind}, ${event.amount_minor}, ${event.currency},
        ${row.state}, ${d.state}, ${new Date(event.occurred_at_ms)}, ${tx.json(asJson(event.contribution))})
      on conflict (event_id) do nothing
      returning id
    ), updated as (
      update transactions set state = ${d.state}, requested_minor = ${d.requested_minor},
        authorized_minor = ${d.authorized_minor}, cleared_minor = ${d.cleared_minor},
        reversed_minor = ${d.reversed_minor}, refunded_minor = ${d.refunded_minor},
        decline_reason = ${d.decline_reason}, memo = ${d.memo}, method = ${p.method},
        original_jit_token = ${p.type === 'authorization.declined' ? p.original_jit_token : null},
        merchant_mid = ${p.merchant.mid}, merchant_mcc = ${p.merchant.mcc},
        merchant_name = ${p.merchant.name ?? null}, merchant_country = ${p.merchant.country},
        network = ${p.network}, marqeta_transaction_token = ${p.transaction_token},
        created_at = ${new Date(d.created_at_ms)}, expires_at = ${new Date(d.created_at_ms + hold_expiry_ms)}
      where id = ${row.id} and exists (select 1 from inserted)
      returning id
    ), recorded as (
      insert into spending_total_deltas (event_id, ordinal, window_kind, card_id, window_start,
        currency_code, amount_minor, count)
      select ${event.event_id}, x.ordinal, x.window_kind, ${card.id}, x.window_start, ${event.currency},
        x.amount_minor, x.count
      from jsonb_to_recordset(${tx.json(asJson(counts.deltas))}) as x(ordinal int2, window_kind text,
        window_start date, amount_minor int8, count int4)
      where exists (select 1 from inserted)
    ), created as (
      insert into spending_totals (card_id, window_kind, window_start, currency_code)
      select ${card.id}, w.kind, w.start, ${event.currency}
      from jsonb_to_recordset(${tx.json(asJson(counts.windows))}) as w(kind text, start date)
      where exists (select 1 from inserted)
      order by w.kind collate "C", w.start
      on conflict (card_id, window_kind, window_start) do nothing
    )
    select (select count(*) from inserted)::int4 as inserted, (select count(*) from updated)::int4 as updated`;
  assert.ok(result !== undefined, 'one row');
  assert.equal(result.updated, result.inserted, 'the locked row is updated with its event');
  return result.inserted === 1;
}

// One event, in one transaction: its history row (unique event_id: a repeat changes nothing),
// the ledger row re-derived from all its events, and the spending totals of its windows.
// Eight round trips (begin and commit included) whatever the event carries, six without
// counter deltas (a decline).
export async function recordBusinessEvent(
  postgres: PostgresClient,
  event: LedgerInput,
  hold_expiry_ms: number,
): Promise<RecordOutcome> {
  const counts = deltaRows(event);
  return postgres.transaction(async (tx) => {
    const card = await cardUnlessSeen(tx, event);
    if (card === 'duplicate') return 'duplicate';
    const row = await lockRow(tx, event, card, hold_expiry_ms);
    // A statement of its own, after the lock: it sees what the events that held it committed.
    const stored = await tx<{ event_id: string; details: Contribution }[]>`
      select event_id, details from transaction_events where transaction_id = ${row.id}`;
    const derived = deriveRow(
      [...stored, { event_id: event.event_id, details: event.contribution }].map(asStored),
    );
    // A concurrent copy of this event committed first: roll back, the retry sees a duplicate.
    if (!(await recordEvent(tx, event, { row, card }, derived, counts, hold_expiry_ms)))
      throw new SettlementError('AFC_SETTLEMENT_CONCURRENT_COPY', event.event_id);
    if (counts.windows.length > 0) await updateTotals(tx, card.id, counts.windows);
    return 'applied';
  });
}

function asStored(entry: { event_id: string; details: Contribution }) {
  return { event_id: entry.event_id, contribution: entry.details };
}

const window_kinds = ['day', 'week', 'month'] as const;

interface DeltaRow {
  readonly ordinal: number;
  readonly window_kind: string;
  readonly window_start: string;
  readonly amount_minor: number;
  readonly count: number;
}

// One row per (entry, window) of the event's counter_deltas, and the windows they touch sorted
// (one lock order for every event of the card).
function deltaRows(event: LedgerInput): { deltas: DeltaRow[]; windows: { kind: string; start: string }[] } {
  const deltas: DeltaRow[] = [];
  const windows = new Map<string, { kind: string; start: string }>();
  for (const [ordinal, delta] of event.counter_deltas.entries()) {
    const counts = delta.amount_minor >= 0 && delta.count >= 0;
    const gives_back = delta.amount_minor <= 0 && delta.count <= 0;
    assert.ok(counts || gives_back, 'a counter delta either counts or gives back, never both');
    for (const kind of window_kinds) {
      const start = dateOfDay(delta[`${kind}_start`]);
      windows.set(`${kind}:${start}`, { kind, start });
      deltas.push({
        ordinal,
        window_kind: kind,
        window_start: start,
        amount_minor: delta.amount_minor,
        count: delta.count,
      });
    }
  }
  const sorted = [...windows.keys()].sort().map((key) => windows.get(key) as { kind: string; start: string });
  return { deltas, windows: sorted };
}

// Each window the event touched is recomputed as the floored sum of every delta recorded for
// it (recordEvent wrote this event's): equal to Redis's counters once all events are in,
// whatever the order they arrived in. The window rows are locked first (sorted: one order for
// every event of the card), so a concurrent event's sum waits for this one's deltas instead of
// missing them. Two statements: the lock must come before the snapshot the sums are read in,
// so that they include what the previous holder committed.
async function updateTotals(
  tx: TransactionSql,
  card_id: string,
  windows: readonly { kind: string; start: string }[],
): Promise<void> {
  const locked = await tx`
    select 1 from spending_totals t
    join jsonb_to_recordset(${tx.json(asJson(windows))}) as w(kind text, start date)
      on t.window_kind = w.kind and t.window_start = w.start
    where t.card_id = ${card_id}
    order by t.window_kind collate "C", t.window_start
    for update of t`;
  assert.equal(locked.length, windows.length, 'every window exists and is locked');
  await recomputeWindows(tx, card_id, windows);
}

async function recomputeWindows(
  tx: TransactionSql,
  card_id: string,
  windows: readonly { kind: string; start: string }[],
) {
  // Below zero only while a give-back has arrived before what it gives back.
  const totals = await tx<{ amount_minor: string; count: string }[]>`
    update spending_totals t
    set amount_minor = greatest(0, s.amount_minor), count = greatest(0, s.count)
    from (
      select w.kind, w.start,
        (select coalesce(sum(d.amount_minor), 0) from spending_total_deltas d
          where d.card_id = ${card_id} and d.window_kind = w.kind and d.window_start = w.start) as amount_minor,
        (select coalesce(sum(d.count), 0) from spending_total_deltas d
          where d.card_id = ${card_id} and d.window_kind = w.kind and d.window_start = w.start) as count
      from jsonb_to_recordset(${tx.json(asJson(windows))}) as w(kind text, start date)
    ) s
    where t.card_id = ${card_id} and t.window_kind = s.kind and t.window_start = s.start
    returning t.amount_minor::text, t.count::text`;
  assert.equal(totals.length, windows.length, 'every window recomputed');
  for (const total of totals)
    assert.ok(
      Number.isSafeInteger(Number(total.amount_minor)) && Number.isSafeInteger(Number(total.count)),
      'totals are safe integers',
    );
}
