import type { CardState } from '@afc/domain';
import type { RedisClient } from '@afc/redis';
import fc from 'fast-check';
import { expect } from 'vitest';
import type { ApplyRequest, CardStateStore, DecideRequest, DecideResult, OutboxEvent } from '../src/index.ts';
import {
  authorization,
  business_card,
  freshCard,
  informative,
  open_controls,
  outboxEvents,
  personal_card,
  seed,
} from './helpers.ts';

// Random concurrent histories on one card over several connections: authorizations, then
// incrementals, full and partial reversals, clearings, replays and more authorizations at once.
// Redis runs the scripts one at a time and each appends its event to the partition's stream, so
// the stream is the order Redis chose: walked in that order, the counters never pass a limit
// (every limit set, all in one day, week and month), the wallet never goes below zero, and the
// final state is exactly what the events say, which the holds confirm independently.

const follow_up_ops = [
  'incremental',
  'reversal',
  'partial_reversal',
  'clearing',
  'replay',
  'authorization',
] as const;

export const mixed_arb = fc.record({
  personal: fc.boolean(),
  available: fc.integer({ min: 1_000, max: 20_000 }),
  controls: fc.record({
    per_transaction_limit_minor: fc.integer({ min: 300, max: 1_500 }),
    daily_limit_minor: fc.integer({ min: 2_000, max: 15_000 }),
    weekly_limit_minor: fc.integer({ min: 2_000, max: 20_000 }),
    monthly_limit_minor: fc.integer({ min: 2_000, max: 25_000 }),
    daily_count_limit: fc.integer({ min: 3, max: 30 }),
    weekly_count_limit: fc.integer({ min: 3, max: 40 }),
    monthly_count_limit: fc.integer({ min: 3, max: 50 }),
  }),
  first: fc.array(fc.integer({ min: 1, max: 1_200 }), { minLength: 20, maxLength: 50 }),
  follow_ups: fc.array(
    fc.record({
      op: fc.constantFrom(...follow_up_ops),
      target: fc.nat(),
      amount: fc.integer({ min: 1, max: 800 }),
    }),
    { minLength: 20, maxLength: 60 },
  ),
});

type MixedDraw = typeof mixed_arb extends fc.Arbitrary<infer T> ? T : never;
type Decided = Extract<DecideResult, { status: 'decided' }>;
type FollowUp = MixedDraw['follow_ups'][number];

export interface MixedTally {
  readonly approved: number;
  readonly limit_declines: number;
  readonly incrementals_approved: number;
  readonly replays: number;
}

function decided(result: DecideResult): Decided {
  expect(result.status).toBe('decided');
  return result as Decided;
}

function followUpWork(
  card: CardState,
  f: FollowUp,
  first: readonly DecideRequest[],
  approved: readonly DecideRequest[],
) {
  const target = approved.length === 0 ? undefined : approved[f.target % approved.length];
  const original = target?.jit_token;
  switch (f.op) {
    case 'incremental':
      if (original === undefined) return undefined;
      return {
        decide: authorization(card, {
          kind: 'incremental',
          method: 'pgfs.authorization.incremental',
          original_jit_token: original,
          amount_minor: f.amount,
        }),
      };
    case 'reversal':
    case 'partial_reversal':
    case 'clearing': {
      if (target === undefined) return undefined;
      const kind = f.op === 'clearing' ? 'clearing' : 'reversal';
      const amount_minor =
        f.op === 'reversal' ? target.amount_minor : Math.min(f.amount, target.amount_minor);
      return { apply: informative(card, kind, { original_jit_token: target.jit_token, amount_minor }) };
    }
    case 'replay':
      // Any first-round request, approved or declined: its answer must come back unchanged.
      return { replay: first[f.target % first.length] as DecideRequest };
    case 'authorization':
      return { decide: authorization(card, { amount_minor: f.amount }) };
  }
}

// The stream in Redis' order: running counters within every limit, the wallet never negative.
function expectEventsWithinLimits(events: readonly OutboxEvent[], draw: MixedDraw, card: CardState) {
  const k = draw.controls;
  const amount_limit = Math.min(k.daily_limit_minor, k.weekly_limit_minor, k.monthly_limit_minor);
  const count_limit = Math.min(k.daily_count_limit, k.weekly_count_limit, k.monthly_count_limit);
  let amount = 0;
  let count = 0;
  let available = draw.available;
  let held = 0;
  for (const event of events) {
    for (const delta of event.counter_deltas) {
      amount += delta.amount_minor;
      count += delta.count;
    }
    available += event.balance_delta.available_minor;
    held += event.balance_delta.held_minor;
    expect(amount).toBeGreaterThanOrEqual(0);
    expect(count).toBeGreaterThanOrEqual(0);
    expect(held).toBeGreaterThanOrEqual(0);
    // Our approvals stay within the limits and the wallet. Informative messages are facts
    // Marqeta already settled: a clearing larger than its hold, or after a full reversal, counts
    // the spend (and the purchase) even past a limit; the next approval then finds no room.
    // An incremental grows a purchase already counted: the count limits are the authorizations'.
    if (event.type !== 'authorization.approved' && event.type !== 'authorization.incremental') continue;
    expect(amount).toBeLessThanOrEqual(amount_limit);
    if (event.type === 'authorization.approved') expect(count).toBeLessThanOrEqual(count_limit);
    if (card.program === 'personal') expect(available).toBeGreaterThanOrEqual(0);
    // The per-transaction limit covers the whole purchase: an incremental's hold after it.
    if (event.type === 'authorization.approved')
      expect(event.amount_minor).toBeLessThanOrEqual(k.per_transaction_limit_minor);
    if (event.type === 'authorization.incremental' && event.hold !== null) {
      expect(event.hold.amount_minor + event.hold.captured_minor).toBeLessThanOrEqual(
        k.per_transaction_limit_minor,
      );
    }
  }
  return { amount, count, available, held };
}

export async function expectMixedHistorySafe(
  stores: readonly CardStateStore[],
  redis: RedisClient,
  draw: MixedDraw,
): Promise<MixedTally> {
  const store = stores[0] as CardStateStore;
  const on = (i: number) => stores[i % stores.length] as CardStateStore;
  const card = freshCard(draw.personal ? personal_card : business_card);
  const controls = { ...open_controls, ...draw.controls };
  await seed(store, { card, controls, balance: { available_minor: draw.available, held_minor: 0 } });
  const first = draw.first.map((amount_minor) => authorization(card, { amount_minor }));
  const first_results = (await Promise.all(first.map((request, i) => on(i).decide(request)))).map(decided);
  const approved = first.filter((_, i) => first_results[i]?.outcome === 'approve');
  const work = draw.follow_ups.flatMap((f) => followUpWork(card, f, first, approved) ?? []);
  const runs = work.map((w, i) => {
    if ('apply' in w)
      return on(i)
        .apply(w.apply as ApplyRequest)
        .then(() => undefined);
    const request = 'decide' in w ? w.decide : w.replay;
    return on(i)
      .decide(request as DecideRequest)
      .then((result) => ({
        request: request as DecideRequest,
        result: decided(result),
        replay: 'replay' in w,
      }));
  });
  const later = (await Promise.all(runs)).flatMap((r) => (r === undefined ? [] : [r]));
  return checkOutcome({ store, redis, draw, card, first, first_results, later });
}

interface Outcomes {
  readonly store: CardStateStore;
  readonly redis: RedisClient;
  readonly draw: MixedDraw;
  readonly card: CardState;
  readonly first: readonly DecideRequest[];
  readonly first_results: readonly Decided[];
  readonly later: readonly { request: DecideRequest; result: Decided; replay: boolean }[];
}

async function checkOutcome(o: Outcomes): Promise<MixedTally> {
  const { store, card } = o;
  // Replays answer the first answer and count nothing; every other decision emitted one event.
  for (const { request, result, replay } of o.later) {
    if (!replay) continue;
    expect(result.outcome).toBe('replay');
    const index = o.first.findIndex((r) => r.jit_token === request.jit_token);
    const first_outcome = o.first_results[index]?.outcome;
    expect(result.outcome === 'replay' && result.stored.outcome).toBe(first_outcome);
  }
  const events = (await outboxEvents(o.redis, store, card.user_token)).filter(
    (e) => e.card_token === card.card_token,
  );
  expect(new Set(events.map((e) => e.event_id)).size).toBe(events.length);
  const walked = expectEventsWithinLimits(events, o.draw, card);
  const state = await store.readState(card.user_token, card.card_token);
  for (const window of ['day', 'week', 'month'] as const) {
    expect(state.counters?.[window].amount_minor).toBe(walked.amount);
    expect(state.counters?.[window].count).toBe(walked.count);
  }
  if (card.program === 'personal') {
    expect(state.balance).toEqual({ available_minor: walked.available, held_minor: walked.held });
  }
  // Against the holds: the counter is what they still count (held + captured, a clearing's
  // excess beyond its hold included), plus force posts (clearings that found no hold).
  const decisions = [
    ...o.first.map((request, i) => ({ request, result: o.first_results[i] as Decided })),
    ...o.later.filter((l) => !l.replay),
  ];
  // Each decision is in the stream once, as what it was.
  for (const { request, result } of decisions) {
    const type =
      result.outcome === 'decline'
        ? 'authorization.declined'
        : request.kind === 'incremental'
          ? 'authorization.incremental'
          : 'authorization.approved';
    expect(events.filter((e) => e.jit_token === request.jit_token && e.type === type)).toHaveLength(1);
  }
  const approvals = decisions.filter((d) => d.result.outcome === 'approve');
  const auths = approvals.filter((d) => d.request.kind === 'authorization');
  const holds = await Promise.all(auths.map((d) => store.readHold(card.user_token, d.request.jit_token)));
  const counted = holds.reduce((sum, h) => sum + (h === null ? 0 : h.amount_minor + h.captured_minor), 0);
  const authorized = holds.reduce((sum, h) => sum + (h?.authorized_minor ?? 0), 0);
  const counted_by = (with_hold: boolean) =>
    events
      .filter((e) => e.type === 'transaction.cleared' && (e.hold !== null) === with_hold)
      .flatMap((e) => e.counter_deltas)
      .reduce((sum, delta) => sum + Math.max(0, delta.amount_minor), 0);
  expect(counted + counted_by(false)).toBe(walked.amount);
  // The holds' authorized: the approvals, and what clearings took beyond a hold.
  expect(authorized).toBe(approvals.reduce((sum, d) => sum + d.request.amount_minor, 0) + counted_by(true));
  return {
    approved: approvals.length,
    limit_declines: decisions.filter((d) => d.result.outcome === 'decline' && /limit/.test(d.result.memo))
      .length,
    incrementals_approved: approvals.length - auths.length,
    replays: o.later.filter((l) => l.replay).length,
  };
}
