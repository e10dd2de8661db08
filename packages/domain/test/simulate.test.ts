import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assertHold,
  type CardState,
  currentCounters,
  max_amount_minor,
  type RefundMode,
  type SimEvent,
  type SimState,
  type SimStep,
  type SpendingControls,
  simulate,
  type WindowStarts,
  windowStarts,
} from '../src/index.ts';
import { business_card, day_ms } from './fixtures.ts';

// A Monday at midnight UTC, so that a single-day scenario fits in one day window.
const base_ms = Date.parse('2024-02-26T00:00:00Z');

const cards: Record<string, CardState> = {
  'card-b1': { ...business_card, card_token: 'card-b1', user_token: 'user-b1' },
  'card-b2': { ...business_card, card_token: 'card-b2', user_token: 'user-b2' },
  'card-p1': { ...business_card, card_token: 'card-p1', user_token: 'user-p1', program: 'personal' },
};
const card_tokens = Object.keys(cards);

// Amounts and limits mostly on a coarse grid, so that "exactly the limit" and "one unit past
// it" happen often; off the grid sometimes, so that odd remainders happen too.
const grid = (max: number) =>
  fc.oneof(
    fc.integer({ min: 0, max: max / 250 }).map((n) => n * 250),
    fc.integer({ min: 0, max }),
  );

const limits = fc.record(
  {
    per_transaction_limit_minor: grid(4_000),
    daily_limit_minor: grid(8_000),
    weekly_limit_minor: grid(15_000),
    monthly_limit_minor: grid(30_000),
    daily_count_limit: fc.integer({ min: 0, max: 4 }),
    weekly_count_limit: fc.integer({ min: 0, max: 10 }),
    monthly_count_limit: fc.integer({ min: 0, max: 20 }),
  },
  { requiredKeys: [] },
);

const controls_arb: fc.Arbitrary<SpendingControls> = fc
  .record({
    limits,
    mcc_allow: fc.constantFrom([], [], ['5411', '5812']),
    mcc_block: fc.constantFrom([], ['7995']),
    blocked_countries: fc.constantFrom([], ['PRK']),
  })
  .map(({ limits, ...lists }) => ({ ...limits, ...lists, blocked_merchant_ids: [] }));

const no_controls: SpendingControls = {
  mcc_allow: [],
  mcc_block: [],
  blocked_merchant_ids: [],
  blocked_countries: [],
};

function baseState(
  controls: readonly SpendingControls[],
  available: number,
  refund_mode: RefundMode,
): SimState {
  return {
    cards: new Map(Object.entries(cards)),
    cardholders: new Map(
      Object.values(cards).map((card) => [
        card.user_token,
        { user_token: card.user_token, program: card.program, status: 'active' as const },
      ]),
    ),
    controls: new Map(card_tokens.map((token, i) => [token, controls[i] ?? no_controls])),
    counters: new Map(),
    balances: new Map([['user-p1', { available_minor: available, held_minor: 0 }]]),
    holds: new Map(),
    decisions: new Map(),
    applied: new Set<string>(),
    refund_mode,
  };
}

function stateArb(refund_modes: readonly RefundMode[]): fc.Arbitrary<SimState> {
  return fc
    .record({
      controls: fc.tuple(controls_arb, controls_arb, controls_arb),
      available: grid(4_000),
      refund_mode: fc.constantFrom(...refund_modes),
    })
    .map(({ controls, available, refund_mode }) => baseState(controls, available, refund_mode));
}

// Mostly a grocery store; now and then a casino (blocked) or a transit MCC (outside allow-lists).
const mccs = ['5411', '5411', '5411', '5411', '5411', '5411', '5812', '5812', '7995', '4111'];

const op_types = [
  'auth',
  'incr',
  'rev',
  'clear',
  'refund',
  'advice',
  'force',
  'inquiry',
  'dup',
  'odd',
] as const;
type OpType = (typeof op_types)[number];

interface Op {
  readonly t: OpType;
  readonly card: number;
  readonly ref: number;
  readonly amount: number;
  readonly adv: number;
  readonly method: number;
  readonly final: boolean;
  readonly mcc: number;
  readonly odd_merchant: number;
}

// On the grid give or take one minor unit: the off-by-one cases at every limit.
const valid_amount = fc
  .tuple(grid(2_500), fc.constantFrom(-1, 0, 0, 1))
  .map(([amount, jitter]) => Math.max(0, amount + jitter));
const odd_amount = fc.oneof(valid_amount, fc.constantFrom(-1, 2.5, Number.NaN, max_amount_minor + 1));

function opsArb(
  types: readonly OpType[],
  max_advance_ms: number,
  amount = valid_amount,
  min_advance_ms = 0,
): fc.Arbitrary<Op[]> {
  const op = fc.record({
    t: fc.constantFrom(...types),
    card: fc.nat(card_tokens.length - 1),
    ref: fc.nat(1_000),
    amount,
    adv: fc.integer({ min: min_advance_ms, max: max_advance_ms }),
    method: fc.nat(20),
    final: fc.boolean(),
    mcc: fc.nat(mccs.length - 1),
    odd_merchant: fc.nat(9),
  });
  return fc.array(op, { minLength: 1, maxLength: 60, size: 'max' });
}

const auth_methods = [
  'pgfs.authorization',
  'pgfs.auth_plus_capture',
  'pgfs.pindebit.atm.withdrawal',
  'pgfs.authorization.quasi.cash',
  'pgfs.authorization.account_verification',
];

// Turns abstract operations into Marqeta messages. Incrementals, reversals, clearings and
// advices name an earlier authorization (by index, modulo those so far).
function materialize(ops: readonly Op[]): SimEvent[] {
  const events: SimEvent[] = [];
  const auths: SimEvent[] = [];
  let now = base_ms;
  ops.forEach((op, i) => {
    now += op.adv;
    const odd = op.odd_merchant === 0;
    const common = {
      jit_token: `j${i}`,
      card_token: card_tokens[op.card] ?? 'card-b1',
      amount_minor: op.amount,
      currency: odd && op.method % 2 === 0 ? 'EUR' : 'USD',
      mcc: mccs[op.mcc] ?? '5411',
      mid: 'm1',
      merchant_country: odd && op.method % 2 === 1 ? 'PRK' : 'USA',
      now_ms: now,
    };
    const target = auths[op.ref % Math.max(1, auths.length)];
    const linked = target && { original_jit_token: target.jit_token, card_token: target.card_token };
    const event = eventOf(op, common, linked, events[op.ref % Math.max(1, events.length)]);
    if (event === undefined) return;
    if (op.t === 'auth' && event.method !== 'pgfs.authorization.account_verification') auths.push(event);
    events.push({ ...event, now_ms: now });
  });
  return events;
}

type Linked = { original_jit_token: string; card_token: string } | undefined;

function eventOf(
  op: Op,
  common: Omit<SimEvent, 'method'>,
  linked: Linked,
  earlier?: SimEvent,
): SimEvent | undefined {
  switch (op.t) {
    case 'auth':
      return { ...common, method: auth_methods[op.method % auth_methods.length] ?? 'pgfs.authorization' };
    case 'incr':
      // Increments are usually small next to the purchase (a tip, another hotel night).
      return (
        linked && {
          ...common,
          ...linked,
          amount_minor: Math.floor(op.amount / 4),
          method: 'pgfs.authorization.incremental',
        }
      );
    case 'rev':
      return linked && { ...common, ...linked, method: 'pgfs.authorization.reversal' };
    case 'clear':
      return linked && { ...common, ...linked, method: 'pgfs.authorization.clearing', final: op.final };
    case 'refund':
      return { ...common, method: 'pgfs.refund' };
    case 'advice':
      return op.final && linked
        ? { ...common, ...linked, method: 'pgfs.authorization.advice' }
        : { ...common, method: 'pgfs.authorization.standin' };
    case 'force':
      return { ...common, method: 'pgfs.authorization.clearing' };
    case 'inquiry':
      return { ...common, method: 'pgfs.balanceinquiry' };
    case 'dup':
      return earlier;
    case 'odd':
      return { ...common, method: op.final ? 'pgfs.dispute.debit' : 'pgfs.brand.new.method' };
  }
}

function windowsOf(now_ms: number): [keyof WindowStarts, number][] {
  const s = windowStarts(now_ms);
  return [
    ['day', s.day],
    ['week', s.week],
    ['month', s.month],
  ];
}

const amount_limit = {
  day: 'daily_limit_minor',
  week: 'weekly_limit_minor',
  month: 'monthly_limit_minor',
} as const;
const count_limit = {
  day: 'daily_count_limit',
  week: 'weekly_count_limit',
  month: 'monthly_count_limit',
} as const;

// Independent of the counters: sums what was approved per card and calendar window, straight from
// the messages and the answers, and holds it against the limits and the wallet.
function checkApprovedWithinLimits(
  initial: SimState,
  events: readonly SimEvent[],
  steps: readonly SimStep[],
) {
  const spent = new Map<string, number>();
  const counted = new Map<string, number>();
  const purchases = new Map<string, number>();
  let wallet_spent = 0;
  steps.forEach((step, i) => {
    const event = events[i];
    if (event === undefined || step.outcome !== 'approve') return;
    if (step.kind !== 'authorization' && step.kind !== 'incremental') return;
    const controls = initial.controls.get(event.card_token);
    for (const [window, start] of windowsOf(event.now_ms)) {
      const key = `${event.card_token}|${window}|${start}`;
      spent.set(key, (spent.get(key) ?? 0) + event.amount_minor);
      expect(spent.get(key)).toBeLessThanOrEqual(controls?.[amount_limit[window]] ?? Number.MAX_SAFE_INTEGER);
      if (step.kind === 'authorization') counted.set(key, (counted.get(key) ?? 0) + 1);
      expect(counted.get(key) ?? 0).toBeLessThanOrEqual(
        controls?.[count_limit[window]] ?? Number.MAX_SAFE_INTEGER,
      );
    }
    const purchase = event.original_jit_token ?? event.jit_token;
    purchases.set(purchase, (purchases.get(purchase) ?? 0) + event.amount_minor);
    expect(purchases.get(purchase)).toBeLessThanOrEqual(
      controls?.per_transaction_limit_minor ?? Number.MAX_SAFE_INTEGER,
    );
    if (event.card_token === 'card-p1') wallet_spent += event.amount_minor;
    expect(wallet_spent).toBeLessThanOrEqual(initial.balances.get('user-p1')?.available_minor ?? 0);
  });
}

describe('simulate: approved spend never exceeds a limit or the balance', () => {
  it('authorizations, incrementals, replays and declines over many days (property)', () => {
    const types: OpType[] = ['auth', 'auth', 'incr', 'inquiry', 'dup'];
    fc.assert(
      fc.property(stateArb(['counters_unchanged']), opsArb(types, 2 * day_ms), (initial, ops) => {
        const events = materialize(ops);
        const { steps } = simulate(initial, events);
        expect(steps).toHaveLength(events.length);
        checkApprovedWithinLimits(initial, events, steps);
      }),
      { numRuns: 600 },
    );
  });

  it('and the scenario is not vacuous: approvals and limit declines both happen', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(stateArb(['counters_unchanged']), opsArb(['auth', 'incr'], day_ms), (initial, ops) => {
        for (const step of simulate(initial, materialize(ops)).steps) seen.add(step.code ?? step.outcome);
      }),
      { numRuns: 200 },
    );
    for (const code of [
      'approve',
      'daily_amount_limit',
      'daily_count_limit',
      'insufficient_funds',
      'mcc_blocked',
    ]) {
      expect(seen).toContain(code);
    }
  });
});

interface ModelHold {
  readonly card: string;
  readonly starts: [keyof WindowStarts, number][];
  outstanding: number;
  captured: number;
  count_returnable: boolean;
}

// A plain model of the bookkeeping, one window set per hold (so: no incrementals across days),
// written without the rules' code: what the counters and the wallet must end at.
class Model {
  readonly holds = new Map<string, ModelHold>();
  readonly net = new Map<
    string,
    { amount: number; count: number; forced_amount: number; forced_count: number }
  >();
  readonly wallet: { available: number; held: number };
  private readonly seen = new Set<string>();

  constructor(available: number) {
    this.wallet = { available, held: 0 };
  }

  add(card: string, starts: [keyof WindowStarts, number][], amount: number, count: number, forced: boolean) {
    for (const [window, start] of starts) {
      const key = `${card}|${window}|${start}`;
      const cell = this.net.get(key) ?? { amount: 0, count: 0, forced_amount: 0, forced_count: 0 };
      cell.amount += amount;
      cell.count += count;
      if (forced) {
        cell.forced_amount += amount;
        cell.forced_count += count;
      }
      this.net.set(key, cell);
    }
  }

  wallets(card: string, available: number, held: number) {
    if (card !== 'card-p1') return;
    this.wallet.available += available;
    this.wallet.held += held;
  }

  approve(event: SimEvent, kind: string) {
    const token = event.original_jit_token ?? event.jit_token;
    const hold = this.holds.get(token) ?? {
      card: event.card_token,
      starts: windowsOf(event.now_ms),
      outstanding: 0,
      captured: 0,
      count_returnable: true,
    };
    hold.outstanding += event.amount_minor;
    this.holds.set(token, hold);
    this.add(hold.card, hold.starts, event.amount_minor, kind === 'authorization' ? 1 : 0, false);
    this.wallets(hold.card, -event.amount_minor, event.amount_minor);
  }

  release(hold: ModelHold, amount: number) {
    hold.outstanding -= amount;
    const count_back = hold.outstanding === 0 && hold.captured === 0 && hold.count_returnable;
    if (count_back) hold.count_returnable = false;
    this.add(hold.card, hold.starts, -amount, count_back ? -1 : 0, false);
    this.wallets(hold.card, amount, -amount);
  }

  inform(event: SimEvent, kind: string) {
    if (this.seen.has(event.jit_token)) return;
    this.seen.add(event.jit_token);
    const token = event.original_jit_token ?? event.jit_token;
    const hold = this.holds.get(token);
    const amount = event.amount_minor;
    // A reversal or a clearing that finds no hold leaves one that holds nothing (for an advice
    // that may follow); a clearing's has its purchase cleared, a force post counted once.
    const empty = (captured: number) => ({
      card: event.card_token,
      starts: windowsOf(event.now_ms),
      outstanding: 0,
      captured,
      count_returnable: false,
    });
    if (kind === 'reversal' && hold) this.release(hold, Math.min(amount, hold.outstanding));
    if (kind === 'reversal' && hold === undefined && amount > 0) this.holds.set(token, empty(0));
    if (kind === 'refund') this.wallets(event.card_token, amount, 0);
    if (kind !== 'clearing') return;
    if (hold === undefined) {
      if (amount > 0) this.add(event.card_token, windowsOf(event.now_ms), amount, 1, true);
      this.wallets(event.card_token, -amount, 0);
      this.holds.set(token, empty(amount));
      return;
    }
    const consumed = Math.min(amount, hold.outstanding);
    const excess = amount - consumed;
    const recount = hold.outstanding === 0 && hold.captured === 0 && excess > 0 ? 1 : 0;
    if (excess > 0) this.add(hold.card, windowsOf(event.now_ms), excess, recount, true);
    hold.outstanding -= consumed;
    // All that was cleared, the excess included: a fully released purchase counts again once.
    hold.captured += amount;
    if (amount > 0) hold.count_returnable = false;
    this.wallets(hold.card, -excess, -consumed);
    if (event.final === true && hold.outstanding > 0) this.release(hold, hold.outstanding);
  }
}

function checkAgainstModel(initial: SimState, events: readonly SimEvent[]) {
  const { state, steps } = simulate(initial, events);
  const model = new Model(initial.balances.get('user-p1')?.available_minor ?? 0);
  steps.forEach((step, i) => {
    const event = events[i];
    if (event === undefined) return;
    if (step.outcome === 'approve' && step.decision?.outcome === 'approve' && step.decision.hold !== null) {
      model.approve(event, step.kind);
    }
    if (step.outcome === 'applied' || step.outcome === 'duplicate') model.inform(event, step.kind);
  });
  const last_ms = events[events.length - 1]?.now_ms ?? base_ms;
  for (const card of card_tokens) {
    const counters = currentCounters(state.counters.get(card), last_ms);
    const limits = initial.controls.get(card);
    for (const window of ['day', 'week', 'month'] as const) {
      const cell = model.net.get(`${card}|${window}|${counters[window].start}`);
      expect({ amount: counters[window].amount_minor, count: counters[window].count }).toEqual({
        amount: cell?.amount ?? 0,
        count: cell?.count ?? 0,
      });
    }
    // What the rules approved, net of releases, fits every limit in every window it touched.
    for (const [key, cell] of model.net) {
      const [owner, window] = key.split('|') as [string, keyof typeof amount_limit];
      if (owner !== card) continue;
      const limit = limits?.[amount_limit[window]] ?? Number.MAX_SAFE_INTEGER;
      expect(cell.amount - cell.forced_amount).toBeLessThanOrEqual(limit);
      expect(cell.count - cell.forced_count).toBeLessThanOrEqual(
        limits?.[count_limit[window]] ?? Number.MAX_SAFE_INTEGER,
      );
    }
  }
  for (const [token, hold] of model.holds) {
    expect(state.holds.get(token)).toMatchObject({
      amount_minor: hold.outstanding,
      captured_minor: hold.captured,
    });
  }
  const wallet = state.balances.get('user-p1');
  expect(wallet).toEqual({ available_minor: model.wallet.available, held_minor: model.wallet.held });
  return model;
}

describe('simulate: counters equal what was approved minus what was released', () => {
  const informative: OpType[] = ['auth', 'auth', 'rev', 'clear', 'refund', 'force', 'dup', 'inquiry'];

  it('over many days, one window set per hold (property)', () => {
    fc.assert(
      fc.property(stateArb(['counters_unchanged']), opsArb(informative, 2 * day_ms), (initial, ops) => {
        checkAgainstModel(initial, materialize(ops));
      }),
      { numRuns: 300 },
    );
  });

  it('within one day, with incrementals growing holds (property)', () => {
    const with_increments: OpType[] = [...informative, 'incr', 'incr'];
    // 60 operations of at most 20 minutes each stay within the Monday.
    fc.assert(
      fc.property(stateArb(['counters_unchanged']), opsArb(with_increments, 20 * 60_000), (initial, ops) => {
        checkAgainstModel(initial, materialize(ops));
      }),
      { numRuns: 300 },
    );
  });

  it('the wallet never goes below zero when Marqeta moved nothing past our answers', () => {
    fc.assert(
      fc.property(
        stateArb(['counters_unchanged']),
        opsArb(['auth', 'auth', 'rev', 'dup'], day_ms),
        (initial, ops) => {
          const model = checkAgainstModel(initial, materialize(ops));
          expect(model.wallet.available).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });
});

function checkInvariants(state: SimState) {
  for (const hold of state.holds.values()) {
    assertHold(hold);
    expect(hold.released_minor + hold.captured_minor).toBeLessThanOrEqual(hold.authorized_minor);
  }
  for (const counters of state.counters.values()) {
    for (const window of [counters.day, counters.week, counters.month]) {
      expect(window.amount_minor).toBeGreaterThanOrEqual(0);
      expect(window.count).toBeGreaterThanOrEqual(0);
    }
  }
  for (const balance of state.balances.values()) expect(balance.held_minor).toBeGreaterThanOrEqual(0);
}

describe('simulate: anything Marqeta may send', () => {
  const everything: OpType[] = [...op_types];
  const modes = ['counters_unchanged', 'restore_counters'] as const;

  it('never throws and never makes a counter, a hold or held money negative (property)', () => {
    fc.assert(
      fc.property(stateArb(modes), opsArb(everything, 2 * day_ms, odd_amount), (initial, ops) => {
        checkInvariants(simulate(initial, materialize(ops)).state);
      }),
      { numRuns: 400 },
    );
  });

  it('the same when messages and server clocks go back and forth across midnight (property)', () => {
    fc.assert(
      fc.property(stateArb(modes), opsArb(everything, day_ms, odd_amount, -day_ms), (initial, ops) => {
        checkInvariants(simulate(initial, materialize(ops)).state);
      }),
      { numRuns: 300 },
    );
  });

  it('replays of any message change nothing and repeat the first answer (property)', () => {
    const with_copies = fc
      .tuple(
        stateArb(modes),
        opsArb(everything, 2 * day_ms, odd_amount),
        fc.array(fc.nat(1_000), { maxLength: 20 }),
      )
      .map(([initial, ops, picks]) => {
        const events = materialize(ops);
        const indices = events.length === 0 ? [] : picks.map((pick) => pick % events.length);
        return { initial, events, indices };
      });
    fc.assert(
      fc.property(with_copies, ({ initial, events, indices }) => {
        const last_ms = events[events.length - 1]?.now_ms ?? base_ms;
        const copies = indices.map((i) => ({ ...(events[i] as SimEvent), now_ms: last_ms }));
        const once = simulate(initial, events);
        const twice = simulate(initial, [...events, ...copies]);
        expect(twice.state).toEqual(once.state);
        twice.steps.slice(events.length).forEach((step, n) => {
          const first = once.steps[indices[n] as number] as SimStep;
          expect(['replay', 'duplicate', 'acknowledged', 'decline']).toContain(step.outcome);
          if (step.outcome === 'replay' && step.decision?.outcome === 'replay') {
            expect(step.decision.stored).toEqual(once.state.decisions.get(step.jit_token));
          }
          if (first.outcome === 'approve') {
            expect(step.decision).toMatchObject({ outcome: 'replay', stored: { outcome: 'approve' } });
          }
          if (first.outcome === 'applied') expect(step.outcome).toBe('duplicate');
        });
      }),
      { numRuns: 300 },
    );
  });
});

describe('simulate: a day in the life', () => {
  it('authorize, increment, partly reverse, clear twice, refund; replays counted once', () => {
    const open = baseState([], 10_000, 'counters_unchanged');
    const at = (minutes: number) => base_ms + minutes * 60_000;
    const e = (
      method: string,
      jit_token: string,
      amount_minor: number,
      minutes: number,
      extra = {},
    ): SimEvent => ({
      method,
      jit_token,
      card_token: 'card-p1',
      amount_minor,
      currency: 'USD',
      mcc: '7011',
      mid: 'hotel',
      merchant_country: 'USA',
      now_ms: at(minutes),
      ...extra,
    });
    const link = { original_jit_token: 'a1' };
    const { state, steps } = simulate(open, [
      e('pgfs.authorization', 'a1', 4_000, 1),
      e('pgfs.authorization', 'a1', 4_000, 2),
      e('pgfs.authorization.incremental', 'i1', 1_000, 3, link),
      e('pgfs.authorization.reversal', 'r1', 500, 4, link),
      e('pgfs.authorization.reversal', 'r1', 500, 5, link),
      e('pgfs.authorization.clearing', 'c1', 3_000, 6, link),
      e('pgfs.authorization.clearing', 'c2', 1_200, 7, { ...link, final: true }),
      e('pgfs.refund', 'f1', 200, 8),
      e('pgfs.balanceinquiry', 'b1', 0, 9),
    ]);
    expect(steps.map((s) => s.code ?? s.outcome)).toEqual([
      'approve',
      'replay',
      'approve',
      'released',
      'duplicate',
      'captured',
      'captured',
      'refund_credited',
      'wallet_balance',
    ]);
    expect(state.holds.get('a1')).toMatchObject({
      amount_minor: 0,
      authorized_minor: 5_000,
      released_minor: 800,
      captured_minor: 4_200,
    });
    // 5,000 held, 800 released (500 reversed, 300 left at the final clearing), 4,200 spent.
    expect(state.counters.get('card-p1')?.day).toMatchObject({ amount_minor: 4_200, count: 1 });
    expect(state.balances.get('user-p1')).toEqual({ available_minor: 10_000 - 4_200 + 200, held_minor: 0 });
    expect(steps[8]?.decision).toMatchObject({ available_minor: 6_000, ledger_minor: 6_000 });
  });
});

describe('simulate: late decisions and stand-ins', () => {
  const e = (method: string, jit_token: string, extra = {}): SimEvent => ({
    method,
    jit_token,
    card_token: 'card-p1',
    amount_minor: 2_000,
    currency: 'USD',
    mcc: '5411',
    mid: 'm1',
    merchant_country: 'USA',
    now_ms: base_ms,
    ...extra,
  });

  it('a stand-in advice, then the decide for its token: held and counted once', () => {
    const { state, steps } = simulate(baseState([], 10_000, 'counters_unchanged'), [
      e('pgfs.authorization.standin', 's1'),
      e('pgfs.authorization', 's1'),
      e('pgfs.authorization', 's1', { amount_minor: 3_000 }),
    ]);
    expect(steps.map((s) => s.code ?? s.outcome)).toEqual(['standin_held', 'replay', 'replay']);
    expect(state.holds.get('s1')).toMatchObject({ amount_minor: 2_000, authorized_minor: 2_000 });
    expect(state.counters.get('card-p1')?.day).toMatchObject({ amount_minor: 2_000, count: 1 });
    expect(state.balances.get('user-p1')).toEqual({ available_minor: 8_000, held_minor: 2_000 });
    expect(state.decisions.has('s1')).toBe(false);
  });

  // When Marqeta stood in, its advice, reversal and clearing may reach us in any order (our
  // gateway was unreachable; each is delivered when it comes back): every order must end with
  // what advice first ends with.
  it('a stand-in’s advice, reversal and clearing hold, count and spend the same in any order', () => {
    const purchase = fc.integer({ min: 1, max: 5_000 }).chain((advised) =>
      fc.record({
        advised: fc.constant(advised),
        reversed: fc.integer({ min: 0, max: advised }),
        cleared_share: fc.integer({ min: 0, max: 100 }),
        // A single-message stand-in's money left when it was approved: captured at expiry.
        method: fc.constantFrom('pgfs.authorization.advice', 'pgfs.auth_plus_capture.standin'),
      }),
    );
    fc.assert(
      fc.property(purchase, fc.nat(), ({ advised, reversed, cleared_share, method }, seed) => {
        const cleared = Math.floor(((advised - reversed) * cleared_share) / 100);
        const link = { original_jit_token: 's1' };
        const advice = e(method, 'adv', { ...link, amount_minor: advised });
        const rest = [
          ...(reversed > 0
            ? [e('pgfs.authorization.reversal', 'rev', { ...link, amount_minor: reversed })]
            : []),
          ...(cleared > 0
            ? [e('pgfs.authorization.clearing', 'clr', { ...link, amount_minor: cleared })]
            : []),
        ];
        const initial = baseState([], 10_000, 'counters_unchanged');
        const in_order = simulate(initial, [advice, ...rest]).state;
        const others = [...rest];
        others.splice(seed % (rest.length + 1), 0, advice);
        const shuffled = simulate(initial, seed % 2 === 0 ? others : [...others].reverse()).state;
        const ending = (state: typeof in_order) => ({
          held: state.holds.get('s1')?.amount_minor,
          on_expiry: state.holds.get('s1')?.on_expiry,
          counted: state.counters.get('card-p1')?.day,
          wallet: state.balances.get('user-p1'),
        });
        expect(ending(shuffled)).toEqual(ending(in_order));
        expect(ending(in_order).held).toBe(advised - reversed - cleared);
      }),
      { numRuns: 300 },
    );
  });

  it('an incremental of a purchase only a reversal told us of is declined: nothing was authorized', () => {
    const link = { original_jit_token: 'gone' };
    const { state, steps } = simulate(baseState([], 10_000, 'counters_unchanged'), [
      e('pgfs.authorization.reversal', 'r1', { ...link, amount_minor: 500 }),
      e('pgfs.authorization.incremental', 'i1', { ...link, amount_minor: 300 }),
    ]);
    expect(steps.map((s) => s.code ?? s.outcome)).toEqual(['hold_not_found', 'original_not_found']);
    expect(state.holds.get('gone')).toMatchObject({ amount_minor: 0, reversed_beyond_minor: 500 });
    expect(state.counters.size).toBe(0);
  });

  it('a late decide stores the timeout decline and holds nothing; its replay answers it', () => {
    const { state, steps } = simulate(baseState([], 10_000, 'counters_unchanged'), [
      e('pgfs.authorization', 'l1', { late: true }),
      e('pgfs.authorization', 'l1'),
    ]);
    expect(steps.map((s) => s.code ?? s.outcome)).toEqual(['timeout', 'replay']);
    expect(state.holds.size).toBe(0);
    expect(state.counters.size).toBe(0);
    expect(state.decisions.get('l1')).toMatchObject({ outcome: 'decline', memo: 'timeout' });
  });
});
