import type { CardStateStore, HoldScripts } from '@afc/card-state';
import { dayToIsoDate, windowStarts } from '@afc/domain';
import type { Sql } from '@afc/postgres';
import type { Service } from '@afc/service-kit';

const windows = ['day', 'week', 'month'] as const;
type WindowKind = (typeof windows)[number];
const counter_fields = [
  'loaded',
  ...windows.flatMap((w) => [`${w}_start`, `${w}_amount`, `${w}_count`]),
] as const;

export interface ReconcileDependencies {
  readonly sql: Sql;
  readonly redis: Service['redis'];
  readonly cards: CardStateStore;
  readonly holds: HoldScripts;
  // Settlement's queue (ready, retrying, parked): events the books have not seen yet.
  readonly queue_backlog: () => Promise<number>;
}

export interface ReconcileOptions {
  readonly dry_run: boolean;
  // Repair although events are still on their way to the books (outbox or queue backlog).
  readonly force: boolean;
  readonly now_ms: number;
  readonly batch: number;
}

export interface CounterChange {
  readonly card_token: string;
  readonly window: WindowKind;
  readonly window_start: string;
  // Redis's value for the current window (a stale window counts as 0: it rolls on next use).
  readonly redis: { readonly amount_minor: number; readonly count: number };
  readonly durable: { readonly amount_minor: number; readonly count: number };
}

export type CardOutcome = 'repaired' | 'would_repair' | 'raced' | 'moving';

export interface ReconcileReport {
  readonly cards_checked: number;
  // Counters never loaded in Redis: the loader fills them from the books; nothing to repair.
  readonly not_loaded: number;
  readonly in_sync: number;
  readonly outcomes: Readonly<Record<CardOutcome, number>>;
  // Every difference found (bounded: max_reported; the counts above are complete).
  readonly changes: readonly (CounterChange & { readonly outcome: CardOutcome })[];
  readonly outbox_backlog: number;
  readonly queue_backlog: number;
  // Repairs were asked for but refused: the books were behind Redis (see the backlogs).
  readonly refused: boolean;
}

const max_reported = 1_000;

interface Totals {
  amount_minor: number;
  count: number;
}
type CardTotals = Map<string, Record<WindowKind, Totals>>;

async function durableTotals(sql: Sql, card_ids: readonly string[], now_ms: number): Promise<CardTotals> {
  const starts = windowStarts(now_ms);
  const rows = await sql<{ card_id: string; window_kind: WindowKind; amount_minor: number; count: number }[]>`
    select card_id, window_kind, amount_minor, count from spending_totals
    where card_id in ${sql(card_ids)}
      and ((window_kind = 'day' and window_start = ${dayToIsoDate(starts.day)}::date)
        or (window_kind = 'week' and window_start = ${dayToIsoDate(starts.week)}::date)
        or (window_kind = 'month' and window_start = ${dayToIsoDate(starts.month)}::date))`;
  const totals: CardTotals = new Map();
  for (const id of card_ids) totals.set(id, { day: zero(), week: zero(), month: zero() });
  for (const row of rows) {
    const card = totals.get(row.card_id);
    if (card !== undefined) card[row.window_kind] = { amount_minor: row.amount_minor, count: row.count };
  }
  return totals;
}

function zero(): Totals {
  return { amount_minor: 0, count: 0 };
}

function sameTotals(a: Record<WindowKind, Totals> | undefined, b: Record<WindowKind, Totals> | undefined) {
  return JSON.stringify(a) === JSON.stringify(b);
}

// What Redis counts in the current window, as the scripts would see it (domain rollWindow).
function effective(raw: readonly (string | null)[], window: WindowKind, start: number): Totals | 'ahead' {
  const index = 1 + windows.indexOf(window) * 3;
  const stored_start = Number(raw[index]);
  if (stored_start > start) return 'ahead';
  if (stored_start < start) return zero();
  return { amount_minor: Number(raw[index + 1]), count: Number(raw[index + 2]) };
}

interface CardRow {
  readonly id: string;
  readonly card_token: string;
  readonly user_token: string;
}

type CardCheck =
  | { readonly kind: 'not_loaded' | 'in_sync' | 'ahead' }
  | {
      readonly kind: 'differs';
      readonly changes: readonly CounterChange[];
      readonly raw: readonly (string | null)[];
    };

function compareCard(
  card: CardRow,
  raw: readonly (string | null)[],
  durable: Record<WindowKind, Totals>,
  now_ms: number,
): CardCheck {
  if (raw[0] === null) return { kind: 'not_loaded' };
  const starts = windowStarts(now_ms);
  const changes: CounterChange[] = [];
  for (const window of windows) {
    const redis = effective(raw, window, starts[window]);
    // A Redis clock ahead of ours: not ours to judge on this run.
    if (redis === 'ahead') return { kind: 'ahead' };
    const books = durable[window];
    if (redis.amount_minor !== books.amount_minor || redis.count !== books.count)
      changes.push({
        card_token: card.card_token,
        window,
        window_start: dayToIsoDate(starts[window]),
        redis,
        durable: books,
      });
  }
  return changes.length === 0 ? { kind: 'in_sync' } : { kind: 'differs', changes, raw };
}

// Current windows with the books' totals; the compared fields are exactly what was read, so a
// decision that counted in between makes the script refuse (outcome raced).
async function repairCard(
  deps: ReconcileDependencies,
  card: CardRow,
  raw: readonly (string | null)[],
  durable: Record<WindowKind, Totals>,
  now_ms: number,
): Promise<boolean> {
  const starts = windowStarts(now_ms);
  const expected = Object.fromEntries(counter_fields.map((field, i) => [field, raw[i] ?? '']));
  const values: Record<string, string> = { loaded: '1' };
  for (const window of windows) {
    values[`${window}_start`] = String(starts[window]);
    values[`${window}_amount`] = String(durable[window].amount_minor);
    values[`${window}_count`] = String(durable[window].count);
  }
  const key = deps.cards.keys(card.user_token, card.card_token).cardCounters;
  return deps.holds.compareAndSetHash(key, expected, values);
}

export async function outboxBacklog(deps: Pick<ReconcileDependencies, 'redis' | 'cards'>): Promise<number> {
  let backlog = 0;
  for (let partition = 0; partition < deps.cards.partitions; partition += 1)
    backlog += await deps.redis.xlen(deps.cards.outboxKey(partition));
  return backlog;
}

// Compares every business card's Redis counters (current day, week, month) with the durable
// totals settlement keeps, and repairs Redis where they differ. The books are read before and
// after Redis: a card whose totals moved meanwhile (an event being settled) is left alone.
export async function reconcileCounters(
  deps: ReconcileDependencies,
  options: ReconcileOptions,
): Promise<ReconcileReport> {
  const outbox_backlog = await outboxBacklog(deps);
  const queue_backlog = await deps.queue_backlog();
  const refused = !options.dry_run && !options.force && outbox_backlog + queue_backlog > 0;
  const repair = !options.dry_run && !refused;
  const outcomes: Record<CardOutcome, number> = { repaired: 0, would_repair: 0, raced: 0, moving: 0 };
  const changes: (CounterChange & { outcome: CardOutcome })[] = [];
  let cards_checked = 0;
  let not_loaded = 0;
  let in_sync = 0;
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const batch = await deps.sql<CardRow[]>`
      select c.id, c.card_token, u.user_token from cards c join users u on u.id = c.user_id
      where c.id > ${after} order by c.id limit ${options.batch}`;
    if (batch.length === 0) break;
    after = batch[batch.length - 1]?.id ?? after;
    const ids = batch.map((card) => card.id);
    const before = await durableTotals(deps.sql, ids, options.now_ms);
    const pipeline = deps.redis.pipeline();
    for (const card of batch)
      pipeline.hmget(deps.cards.keys(card.user_token, card.card_token).cardCounters, ...counter_fields);
    const replies = (await pipeline.exec()) ?? [];
    const later = await durableTotals(deps.sql, ids, options.now_ms);
    for (const [i, card] of batch.entries()) {
      cards_checked += 1;
      const [error, raw] = replies[i] ?? [new Error('no reply'), null];
      if (error) throw error;
      const durable = before.get(card.id);
      if (durable === undefined) continue;
      const check = compareCard(card, raw as (string | null)[], durable, options.now_ms);
      if (check.kind === 'not_loaded') not_loaded += 1;
      if (check.kind === 'in_sync' || check.kind === 'ahead') in_sync += 1;
      if (check.kind !== 'differs') continue;
      let outcome: CardOutcome = 'would_repair';
      if (!sameTotals(durable, later.get(card.id))) outcome = 'moving';
      else if (repair)
        outcome = (await repairCard(deps, card, check.raw, durable, options.now_ms)) ? 'repaired' : 'raced';
      outcomes[outcome] += 1;
      for (const change of check.changes)
        if (changes.length < max_reported) changes.push({ ...change, outcome });
    }
  }
  return { cards_checked, not_loaded, in_sync, outcomes, changes, outbox_backlog, queue_backlog, refused };
}
