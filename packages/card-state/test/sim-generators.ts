import {
  type Balance,
  type Cardholder,
  type CardState,
  max_amount_minor,
  type RefundMode,
  type SimEvent,
  type SimState,
  type SpendingControls,
  type WindowCounters,
  windowStarts,
} from '@afc/domain';
import fc from 'fast-check';

// Random SimStates and Marqeta message sequences for the equivalence property: the same ideas
// as @afc/domain's own simulate tests (limits on a coarse grid so that "exactly the limit" and
// "one unit past it" happen often), written again here: nothing is imported from its tests.

// A Monday at midnight UTC: a scenario of a few days crosses day, week and month windows.
export const base_ms = Date.parse('2024-02-26T00:00:00Z');
export const day_ms = 86_400_000;

const grid = (max: number) =>
  fc.oneof(
    fc.integer({ min: 0, max: max / 250 }).map((n) => n * 250),
    fc.integer({ min: 0, max }),
  );

const limits = fc.record(
  {
    per_transaction_limit_minor: grid(6_000),
    daily_limit_minor: grid(10_000),
    weekly_limit_minor: grid(25_000),
    monthly_limit_minor: grid(50_000),
    daily_count_limit: fc.integer({ min: 0, max: 6 }),
    weekly_count_limit: fc.integer({ min: 0, max: 12 }),
    monthly_count_limit: fc.integer({ min: 0, max: 24 }),
  },
  { requiredKeys: [] },
);

const controls_arb: fc.Arbitrary<SpendingControls> = fc
  .record({
    limits,
    mcc_allow: fc.constantFrom([], [], ['5411', '5812']),
    mcc_block: fc.constantFrom([], ['7995']),
    blocked_merchant_ids: fc.constantFrom([], [], ['m-bad']),
    blocked_countries: fc.constantFrom([], ['PRK']),
  })
  .map(({ limits, ...lists }) => ({ ...limits, ...lists }));

// Stored counters from some moment around the scenario: older windows (rolled over), the same,
// or a day ahead (another server's clock ran ahead).
const counters_arb: fc.Arbitrary<WindowCounters> = fc
  .record({
    offset_days: fc.constantFrom(-40, -10, -3, 0, 0, 1),
    amount: grid(6_000),
    count: fc.integer({ min: 0, max: 3 }),
  })
  .map(({ offset_days, amount, count }) => {
    const s = windowStarts(base_ms + offset_days * day_ms);
    return {
      day: { start: s.day, amount_minor: amount, count },
      week: { start: s.week, amount_minor: amount + 500, count: count + 1 },
      month: { start: s.month, amount_minor: amount + 1_000, count: count + 2 },
    };
  });

interface CardSpec {
  readonly suffix: string;
  readonly program: 'business' | 'personal';
}

// Three cards of three cardholders, plus card-x that the data of record does not know.
const card_specs: readonly CardSpec[] = [
  { suffix: 'b1', program: 'business' },
  { suffix: 'b2', program: 'business' },
  { suffix: 'p1', program: 'personal' },
];

export interface Scenario {
  readonly initial: SimState;
  readonly events: readonly SimEvent[];
  // The cardholder of each card token, as Marqeta sends it (user-x for the unknown card).
  readonly user_of: ReadonlyMap<string, string>;
}

// Mostly cards that may spend: the identity rules must not drown the others.
const card_variant = fc.record({
  state: fc.oneof(
    { weight: 30, arbitrary: fc.constant('active') },
    { weight: 1, arbitrary: fc.constant('suspended') },
  ),
  expired_often: fc.nat(39),
  holder: fc.oneof(
    { weight: 30, arbitrary: fc.constant('active') },
    { weight: 1, arbitrary: fc.constant('suspended') },
    { weight: 1, arbitrary: fc.constant('missing') },
  ),
  controls: fc.option(controls_arb, { freq: 5 }),
  counters: fc.option(counters_arb, { freq: 2 }),
});

export const state_arb = fc.record({
  variants: fc.tuple(card_variant, card_variant, card_variant),
  balance: fc.option(grid(5_000), { freq: 2 }),
  refund_mode: fc.constantFrom<RefundMode>('counters_unchanged', 'restore_counters'),
});

type StateDraw = typeof state_arb extends fc.Arbitrary<infer T> ? T : never;

export function buildState(draw: StateDraw, run: string) {
  const cards = new Map<string, CardState>();
  const cardholders = new Map<string, Cardholder>();
  const controls = new Map<string, SpendingControls>();
  const counters = new Map<string, WindowCounters>();
  const balances = new Map<string, Balance>();
  const user_of = new Map<string, string>();
  card_specs.forEach((spec, i) => {
    const v = draw.variants[i];
    if (v === undefined) return;
    const card_token = `card-${spec.suffix}-${run}`;
    const user_token = `user-${spec.suffix}-${run}`;
    user_of.set(card_token, user_token);
    cards.set(card_token, {
      card_token,
      user_token,
      program: spec.program,
      state: v.state as CardState['state'],
      // One card in forty expired at the end of January 2024, before the scenario starts.
      expiration_year: v.expired_often === 0 ? 2024 : 2027,
      expiration_month: v.expired_often === 0 ? 1 : 6,
      currency: 'USD',
      version: 1,
    });
    if (v.holder !== 'missing') {
      cardholders.set(user_token, {
        user_token,
        program: spec.program,
        status: v.holder as Cardholder['status'],
      });
    }
    if (v.controls !== null) controls.set(card_token, v.controls);
    if (v.counters !== null) counters.set(card_token, v.counters);
    if (spec.program === 'personal' && draw.balance !== null) {
      balances.set(user_token, { available_minor: draw.balance, held_minor: 0 });
    }
  });
  user_of.set(`card-x-${run}`, `user-x-${run}`);
  const initial: SimState = {
    cards,
    cardholders,
    controls,
    counters,
    balances,
    holds: new Map(),
    decisions: new Map(),
    applied: new Set(),
    refund_mode: draw.refund_mode,
  };
  return { initial, user_of };
}

// Mostly a grocery store; now and then a casino (blocked) or a transit MCC (outside allow-lists).
const mccs = ['5411', '5411', '5411', '5411', '5411', '5411', '5812', '5812', '7995', '4111'];

// Weighted towards authorizations and what follows them, so that holds live long enough for
// incrementals, reversals and several clearings to meet them.
const op_weights = {
  auth: 8,
  incr: 3,
  rev: 3,
  clear: 4,
  refund: 1,
  advice: 2,
  again: 1,
  force: 1,
  inquiry: 1,
  dup: 2,
  odd: 1,
} as const;
const op_types = Object.keys(op_weights) as (keyof typeof op_weights)[];

// On the grid give or take one minor unit; now and then an amount the rules must refuse.
const amount_arb = fc.oneof(
  {
    weight: 20,
    arbitrary: fc.tuple(grid(2_500), fc.constantFrom(-1, 0, 0, 1)).map(([a, j]) => Math.max(0, a + j)),
  },
  { weight: 1, arbitrary: fc.constantFrom(-1, max_amount_minor + 1) },
);

const op_arb = fc.record({
  t: fc.oneof(...op_types.map((t) => ({ weight: op_weights[t], arbitrary: fc.constant(t) }))),
  // 0..2 the known cards, 3 (one message in ten) the unknown one.
  card: fc.oneof({ weight: 9, arbitrary: fc.nat(2) }, { weight: 1, arbitrary: fc.constant(3) }),
  ref: fc.nat(1_000),
  // Half the time the card's latest authorization: several messages for one hold.
  latest: fc.boolean(),
  amount: amount_arb,
  adv: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 * day_ms })),
  method: fc.nat(20),
  flag: fc.boolean(),
  mcc: fc.nat(mccs.length - 1),
  odd_merchant: fc.nat(9),
  // One decision in ten runs past its deadline (the script finds the deadline passed).
  late: fc.nat(9),
});
type Op = typeof op_arb extends fc.Arbitrary<infer T> ? T : never;

export const ops_arb = fc.array(op_arb, { minLength: 1, maxLength: 40, size: 'max' });

const auth_methods = [
  'pgfs.authorization',
  'pgfs.authorization',
  'pgfs.auth_plus_capture',
  'pgfs.pindebit.atm.withdrawal',
  'pgfs.authorization.quasi.cash',
  'pgfs.authorization.account_verification',
];

type Common = Omit<SimEvent, 'method'>;
type Linked = { original_jit_token: string; card_token: string } | undefined;

// Turns abstract operations into Marqeta messages. Incrementals, reversals, clearings and
// advices name an earlier authorization OF THE SAME CARD (as Marqeta does), or none.
export function materialize(ops: readonly Op[], run: string, card_tokens: readonly string[]): SimEvent[] {
  const events: SimEvent[] = [];
  const auths: SimEvent[] = [];
  // Tokens a stand-in or advice holds under, by card: a decide may follow for the same token.
  const advised: Linked[] = [];
  let now = base_ms;
  ops.forEach((op, i) => {
    now += op.adv;
    const card_token = card_tokens[op.card % card_tokens.length] ?? 'none';
    const odd = op.odd_merchant === 0;
    const common: Common = {
      jit_token: `j${i}-${run}`,
      card_token,
      amount_minor: op.amount,
      currency: odd && op.method % 2 === 0 ? 'EUR' : 'USD',
      mcc: mccs[op.mcc] ?? '5411',
      mid: odd && op.method % 3 === 0 ? 'm-bad' : 'm1',
      merchant_country: odd && op.method % 2 === 1 ? 'PRK' : 'USA',
      now_ms: now,
    };
    const mine = auths.filter((a) => a.card_token === card_token);
    const target = op.latest ? mine[mine.length - 1] : mine[op.ref % Math.max(1, mine.length)];
    const linked: Linked = target && { original_jit_token: target.jit_token, card_token };
    const earlier = op.t === 'again' ? advised[op.ref % Math.max(1, advised.length)] : undefined;
    const event = eventOf(op, common, linked, events[op.ref % Math.max(1, events.length)], earlier);
    if (event === undefined) return;
    if (op.t === 'advice') {
      advised.push({ original_jit_token: event.original_jit_token ?? event.jit_token, card_token });
    }
    if (op.t === 'auth' && event.method !== 'pgfs.authorization.account_verification') auths.push(event);
    events.push(op.t === 'dup' ? event : { ...event, now_ms: now });
  });
  return events;
}

function eventOf(
  op: Op,
  common: Common,
  linked: Linked,
  earlier?: SimEvent,
  advised?: Linked,
): SimEvent | undefined {
  const late = op.late === 0 ? { late: true } : {};
  switch (op.t) {
    case 'auth': {
      const method = auth_methods[op.method % auth_methods.length] ?? 'pgfs.authorization';
      // Account verifications are for zero, nearly always.
      const verification = method === 'pgfs.authorization.account_verification' && op.odd_merchant > 1;
      return { ...common, method, ...late, ...(verification ? { amount_minor: 0 } : {}) };
    }
    case 'again':
      // The decide for a token a stand-in or advice already holds under (it arrived late, or
      // Marqeta asked after standing in): Marqeta's approval, never counted twice.
      return (
        advised && {
          ...common,
          jit_token: advised.original_jit_token,
          card_token: advised.card_token,
          method: 'pgfs.authorization',
          ...late,
        }
      );
    case 'incr':
      return (
        linked && {
          ...common,
          ...linked,
          amount_minor: Math.floor(op.amount / 4),
          method: 'pgfs.authorization.incremental',
          ...late,
        }
      );
    case 'rev':
      // Marqeta may leave the amount out of a reversal: release all. SimEvent types the amount as
      // a number; simulate hands it to applyReversal, which reads undefined as "all".
      return (
        linked && {
          ...common,
          ...linked,
          method: 'pgfs.authorization.reversal',
          ...(op.flag && op.method % 2 === 0 ? { amount_minor: undefined as unknown as number } : {}),
        }
      );
    case 'clear':
      return linked && { ...common, ...linked, method: 'pgfs.authorization.clearing', final: op.flag };
    case 'refund':
      return { ...common, method: op.flag ? 'pgfs.refund' : 'pgfs.refund.authorization.clearing' };
    case 'advice':
      return op.flag && linked
        ? { ...common, ...linked, method: 'pgfs.authorization.advice' }
        : {
            ...common,
            method: op.method % 2 === 0 ? 'pgfs.authorization.standin' : 'pgfs.auth_plus_capture.standin',
          };
    case 'force':
      return { ...common, method: 'pgfs.authorization.clearing' };
    case 'inquiry':
      return { ...common, method: 'pgfs.balanceinquiry', ...late };
    case 'dup':
      return earlier;
    case 'odd':
      return { ...common, method: op.flag ? 'pgfs.dispute.debit' : 'pgfs.refund.authorization' };
  }
}
