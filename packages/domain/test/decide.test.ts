import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Decision,
  type DeclineMemo,
  decideAuthorization,
  decline_memos,
  type Hold,
  max_amount_minor,
  max_counted_entries,
  rule_order,
  toStored,
  windowStarts,
} from '../src/index.ts';
import {
  authorization,
  business_card,
  business_holder,
  type Draft,
  day_ms,
  now_ms,
  open_controls,
  personal_card,
  personal_holder,
  zeroCounters,
} from './fixtures.ts';

function memoOf(decision: Decision): DeclineMemo | undefined {
  return decision.outcome === 'decline' ? decision.memo : undefined;
}

function approved(decision: Decision) {
  if (decision.outcome !== 'approve') throw new Error(`expected approve, got ${JSON.stringify(decision)}`);
  return decision;
}

const starts = windowStarts(now_ms);
const today = { day_start: starts.day, week_start: starts.week, month_start: starts.month };

function personalDraft(available_minor: number): Draft {
  return authorization({
    card: personal_card,
    cardholder: personal_holder,
    balance: { available_minor, held_minor: 0 },
  });
}

function makePersonal(d: Draft): void {
  if (d.card) d.card = { ...d.card, program: 'personal' };
  if (d.cardholder) d.cardholder = { ...d.cardholder, program: 'personal' };
}

// One way to break each rule an authorization goes through. Applied in reverse rule order, so
// that an earlier rule's violation wins where two touch the same field (no card at all beats a
// suspended one), while later violations stay in place.
const violations: Partial<Record<DeclineMemo, (d: Draft) => void>> = {
  timeout: (d) => {
    d.deadline_passed = true;
  },
  card_not_found: (d) => {
    delete d.card;
  },
  card_not_active: (d) => {
    if (d.card) d.card = { ...d.card, state: 'suspended' };
  },
  card_expired: (d) => {
    if (d.card) d.card = { ...d.card, expiration_year: 2024, expiration_month: 2 };
  },
  cardholder_not_found: (d) => {
    delete d.cardholder;
  },
  cardholder_not_active: (d) => {
    if (d.cardholder) d.cardholder = { ...d.cardholder, status: 'closed' };
  },
  amount_invalid: (d) => {
    d.amount_minor = -5;
  },
  amount_zero: (d) => {
    d.amount_minor = 0;
  },
  currency_mismatch: (d) => {
    d.currency = 'EUR';
  },
  mcc_blocked: (d) => {
    d.controls = { ...open_controls, ...d.controls, mcc_block: [d.mcc] };
  },
  mcc_not_allowed: (d) => {
    d.controls = { ...open_controls, ...d.controls, mcc_allow: ['0001'] };
  },
  merchant_blocked: (d) => {
    d.controls = { ...open_controls, ...d.controls, blocked_merchant_ids: [d.mid] };
  },
  country_blocked: (d) => {
    d.controls = { ...open_controls, ...d.controls, blocked_countries: [d.merchant_country] };
  },
  per_transaction_limit: (d) => {
    d.controls = { ...open_controls, ...d.controls, per_transaction_limit_minor: 999 };
  },
  daily_amount_limit: (d) => {
    d.controls = { ...open_controls, ...d.controls, daily_limit_minor: 10_000 };
    const c = d.counters ?? zeroCounters();
    d.counters = { ...c, day: { ...c.day, amount_minor: 9_001 } };
  },
  weekly_amount_limit: (d) => {
    d.controls = { ...open_controls, ...d.controls, weekly_limit_minor: 20_000 };
    const c = d.counters ?? zeroCounters();
    d.counters = { ...c, week: { ...c.week, amount_minor: 19_001 } };
  },
  monthly_amount_limit: (d) => {
    d.controls = { ...open_controls, ...d.controls, monthly_limit_minor: 30_000 };
    const c = d.counters ?? zeroCounters();
    d.counters = { ...c, month: { ...c.month, amount_minor: 29_001 } };
  },
  daily_count_limit: (d) => {
    d.controls = { ...open_controls, ...d.controls, daily_count_limit: 2 };
    const c = d.counters ?? zeroCounters();
    d.counters = { ...c, day: { ...c.day, count: 2 } };
  },
  weekly_count_limit: (d) => {
    d.controls = { ...open_controls, ...d.controls, weekly_count_limit: 5 };
    const c = d.counters ?? zeroCounters();
    d.counters = { ...c, week: { ...c.week, count: 5 } };
  },
  monthly_count_limit: (d) => {
    d.controls = { ...open_controls, ...d.controls, monthly_count_limit: 9 };
    const c = d.counters ?? zeroCounters();
    d.counters = { ...c, month: { ...c.month, count: 9 } };
  },
  balance_not_found: (d) => {
    makePersonal(d);
    delete d.balance;
  },
  insufficient_funds: (d) => {
    makePersonal(d);
    d.balance = { available_minor: 999, held_minor: 0 };
  },
};

// The order the card program specifies, written out here rather than read from the source, so
// that reordering the rule table fails this test.
const specified_order: readonly DeclineMemo[] = [
  'replay_mismatch',
  'timeout',
  'card_not_found',
  'card_not_active',
  'card_expired',
  'cardholder_not_found',
  'cardholder_not_active',
  'amount_invalid',
  'amount_zero',
  'verification_amount_not_zero',
  'original_not_found',
  'too_many_increments',
  'currency_mismatch',
  'mcc_blocked',
  'mcc_not_allowed',
  'merchant_blocked',
  'country_blocked',
  'per_transaction_limit',
  'daily_amount_limit',
  'weekly_amount_limit',
  'monthly_amount_limit',
  'daily_count_limit',
  'weekly_count_limit',
  'monthly_count_limit',
  'balance_not_found',
  'insufficient_funds',
];

const authorization_rules = specified_order.filter((memo) => violations[memo] !== undefined);

function violate(memos: readonly DeclineMemo[]): Draft {
  const draft = authorization();
  const in_reverse = [...memos].sort((a, b) => specified_order.indexOf(b) - specified_order.indexOf(a));
  for (const memo of in_reverse) violations[memo]?.(draft);
  // A card removed by card_not_found must not come back through a later rule's spread.
  if (memos.includes('card_not_found')) delete draft.card;
  if (memos.includes('cardholder_not_found')) delete draft.cardholder;
  return draft;
}

describe('decideAuthorization: one case per rule', () => {
  it('the baseline authorization is approved', () => {
    expect(decideAuthorization(authorization()).outcome).toBe('approve');
  });

  it.each(authorization_rules)('%s declines with its reason', (memo) => {
    const decision = decideAuthorization(violate([memo]));
    expect(decision).toEqual({ outcome: 'decline', decline_reason: decline_memos[memo], memo });
  });

  it('every authorization rule has a case, and memos are distinct codes', () => {
    const identity_and_amount = ['replay_mismatch', 'verification_amount_not_zero', 'original_not_found'];
    const incremental_only = ['too_many_increments'];
    const covered = [...authorization_rules, ...identity_and_amount, ...incremental_only];
    expect([...covered].sort()).toEqual([...specified_order].sort());
    expect(rule_order).toEqual(specified_order);
    expect(new Set(rule_order).size).toBe(rule_order.length);
  });

  it.each(['suspended', 'terminated', 'requested', 'issuing', 'failed'] as const)(
    'card %s may not spend',
    (state) => {
      const decision = decideAuthorization(authorization({ card: { ...business_card, state } }));
      expect(memoOf(decision)).toBe('card_not_active');
    },
  );

  it.each(['suspended', 'closed'] as const)('cardholder %s may not spend', (status) => {
    const decision = decideAuthorization(authorization({ cardholder: { ...business_holder, status } }));
    expect(decision).toMatchObject({
      decline_reason: 'CARDHOLDER_NOT_ACTIVE',
      memo: 'cardholder_not_active',
    });
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, max_amount_minor + 1])(
    'amount %s is invalid',
    (amount) => {
      const decision = decideAuthorization(authorization({ amount_minor: amount }));
      expect(decision).toMatchObject({ decline_reason: 'INVALID_AMOUNT', memo: 'amount_invalid' });
    },
  );

  it('a card expiring this month still spends on its last day', () => {
    const card = { ...business_card, expiration_year: 2024, expiration_month: 3 };
    const last = Date.parse('2024-03-31T23:59:59.999Z');
    expect(
      decideAuthorization(authorization({ card, now_ms: last, counters: zeroCounters(last) })).outcome,
    ).toBe('approve');
    const next = last + 1;
    expect(memoOf(decideAuthorization(authorization({ card, now_ms: next })))).toBe('card_expired');
  });

  it('limits are inclusive: exactly the limit is approved, one minor unit more is not', () => {
    const at = (limit: keyof typeof open_controls | string, used: number) => {
      const counters = zeroCounters();
      return authorization({
        controls: { ...open_controls, [limit]: 10_000 },
        counters: {
          day: { ...counters.day, amount_minor: used },
          week: counters.week,
          month: counters.month,
        },
      });
    };
    expect(decideAuthorization(at('daily_limit_minor', 9_000)).outcome).toBe('approve');
    expect(memoOf(decideAuthorization(at('daily_limit_minor', 9_001)))).toBe('daily_amount_limit');
    const per_tx = (limit: number) =>
      decideAuthorization(
        authorization({ controls: { ...open_controls, per_transaction_limit_minor: limit } }),
      );
    expect(per_tx(1_000).outcome).toBe('approve');
    expect(memoOf(per_tx(999))).toBe('per_transaction_limit');
    expect(decideAuthorization(personalDraft(1_000)).outcome).toBe('approve');
    expect(memoOf(decideAuthorization(personalDraft(999)))).toBe('insufficient_funds');
  });

  it('the allow-list admits its MCCs; an empty allow-list admits all', () => {
    const allow = (mcc_allow: string[]) =>
      decideAuthorization(authorization({ controls: { ...open_controls, mcc_allow } }));
    expect(allow(['5411', '5812']).outcome).toBe('approve');
    expect(allow([]).outcome).toBe('approve');
    expect(memoOf(allow(['5812']))).toBe('mcc_not_allowed');
  });

  it('counters of closed windows do not count', () => {
    const counters = {
      day: { start: starts.day - 1, amount_minor: 10_000, count: 99 },
      week: { start: starts.week - 7, amount_minor: 10_000, count: 99 },
      month: { start: starts.month - 29, amount_minor: 10_000, count: 99 },
    };
    const controls = { ...open_controls, daily_limit_minor: 1_000, monthly_count_limit: 1 };
    expect(decideAuthorization(authorization({ controls, counters })).outcome).toBe('approve');
    expect(decideAuthorization(authorization({ controls })).outcome).toBe('approve');
  });
});

describe('decideAuthorization: rule order', () => {
  it.each(authorization_rules)('%s wins over every later rule', (memo) => {
    const later = authorization_rules.slice(authorization_rules.indexOf(memo));
    expect(memoOf(decideAuthorization(violate(later)))).toBe(memo);
  });

  it('the first violated rule gives the reason, for any set of violations (property)', () => {
    fc.assert(
      fc.property(fc.subarray(authorization_rules, { minLength: 1 }), (memos) => {
        const first = [...memos].sort((a, b) => specified_order.indexOf(a) - specified_order.indexOf(b))[0];
        expect(memoOf(decideAuthorization(violate(memos)))).toBe(first);
      }),
    );
  });
});

describe('decideAuthorization: approvals', () => {
  it('an authorization holds the amount, counts it once in today’s windows', () => {
    const decision = approved(decideAuthorization(authorization({ jit_token: 'jit-a' })));
    expect(decision.counter_deltas).toEqual([{ ...today, amount_minor: 1_000, count: 1 }]);
    expect(decision.balance_delta).toEqual({ available_minor: 0, held_minor: 0 });
    expect(decision.hold).toEqual({
      jit_token: 'jit-a',
      card_token: 'card-b',
      user_token: 'user-b',
      program: 'business',
      amount_minor: 1_000,
      authorized_minor: 1_000,
      released_minor: 0,
      captured_minor: 0,
      on_expiry: 'release',
      counted: [{ ...today, amount_minor: 1_000, count: 1 }],
    });
  });

  it('a personal authorization moves the amount from available to held', () => {
    const decision = approved(decideAuthorization(personalDraft(5_000)));
    expect(decision.balance_delta).toEqual({ available_minor: -1_000, held_minor: 1_000 });
    expect(decision.hold?.program).toBe('personal');
  });

  it('auth-plus-capture (single message) holds, and its hold is captured at expiry', () => {
    const decision = approved(decideAuthorization(authorization({ single_message: true })));
    expect(decision.hold?.on_expiry).toBe('capture');
    expect(decision.hold?.amount_minor).toBe(1_000);
  });

  it('account verification checks the card and cardholder only, and counts nothing', () => {
    const blocked = { ...open_controls, mcc_block: ['5411'], daily_limit_minor: 0, daily_count_limit: 0 };
    const input = authorization({
      kind: 'account_verification',
      amount_minor: 0,
      controls: blocked,
      currency: 'EUR',
    });
    expect(decideAuthorization(input)).toEqual({
      outcome: 'approve',
      hold: null,
      counter_deltas: [],
      balance_delta: { available_minor: 0, held_minor: 0 },
    });
    expect(memoOf(decideAuthorization({ ...input, amount_minor: 100 }))).toBe('verification_amount_not_zero');
    expect(memoOf(decideAuthorization({ ...input, card: { ...business_card, state: 'terminated' } }))).toBe(
      'card_not_active',
    );
  });
});

describe('decideAuthorization: incremental', () => {
  const original = approved(decideAuthorization(authorization({ jit_token: 'jit-o', amount_minor: 6_000 })))
    .hold as Hold;
  const incremental = (overrides: Partial<Draft> = {}) =>
    authorization({
      kind: 'incremental',
      jit_token: 'jit-i',
      amount_minor: 500,
      original_hold: original,
      ...overrides,
    });

  it('holds only the increment, in the original hold, without a count', () => {
    const decision = approved(decideAuthorization(incremental()));
    expect(decision.counter_deltas).toEqual([{ ...today, amount_minor: 500, count: 0 }]);
    expect(decision.hold).toMatchObject({ jit_token: 'jit-o', amount_minor: 6_500, authorized_minor: 6_500 });
    expect(decision.hold?.counted).toEqual([{ ...today, amount_minor: 6_500, count: 1 }]);
  });

  it('an increment on a later day is counted in that day’s windows, and remembered apart', () => {
    const later = now_ms + 3 * day_ms;
    const decision = approved(
      decideAuthorization(incremental({ now_ms: later, counters: zeroCounters(later) })),
    );
    const then = windowStarts(later);
    const entry = {
      day_start: then.day,
      week_start: then.week,
      month_start: then.month,
      amount_minor: 500,
      count: 0,
    };
    expect(decision.counter_deltas).toEqual([entry]);
    expect(decision.hold?.counted).toEqual([{ ...today, amount_minor: 6_000, count: 1 }, entry]);
  });

  it('is not subject to count limits', () => {
    const counters = zeroCounters();
    const controls = { ...open_controls, daily_count_limit: 1 };
    const full = { ...counters, day: { ...counters.day, count: 1 } };
    expect(decideAuthorization(incremental({ controls, counters: full })).outcome).toBe('approve');
    expect(memoOf(decideAuthorization(authorization({ controls, counters: full })))).toBe(
      'daily_count_limit',
    );
  });

  it('the per-transaction limit applies to the whole purchase, window limits to the increment', () => {
    const per_tx = { ...open_controls, per_transaction_limit_minor: 6_400 };
    expect(memoOf(decideAuthorization(incremental({ controls: per_tx })))).toBe('per_transaction_limit');
    const daily = { ...open_controls, daily_limit_minor: 6_500 };
    const counters = zeroCounters();
    const used = { ...counters, day: { ...counters.day, amount_minor: 6_000 } };
    expect(decideAuthorization(incremental({ controls: daily, counters: used })).outcome).toBe('approve');
    expect(
      memoOf(decideAuthorization(incremental({ controls: daily, counters: used, amount_minor: 501 }))),
    ).toBe('daily_amount_limit');
  });

  it('an unknown original, or one of another card, is declined', () => {
    const missing = incremental();
    delete missing.original_hold;
    expect(decideAuthorization(missing)).toEqual({
      outcome: 'decline',
      decline_reason: 'TRANSACTION_NOT_PERMITTED',
      memo: 'original_not_found',
    });
    const foreign = incremental({ original_hold: { ...original, card_token: 'card-x' } });
    expect(memoOf(decideAuthorization(foreign))).toBe('original_not_found');
  });

  it('a hold counted over too many different days takes no more increments', () => {
    let hold = original;
    for (let i = 1; i < max_counted_entries; i += 1) {
      const at = now_ms + i * day_ms;
      const next = decideAuthorization(
        incremental({ original_hold: hold, now_ms: at, counters: zeroCounters(at) }),
      );
      hold = approved(next).hold as Hold;
    }
    expect(hold.counted).toHaveLength(max_counted_entries);
    const at = now_ms + max_counted_entries * day_ms;
    const full = incremental({ original_hold: hold, now_ms: at, counters: zeroCounters(at) });
    expect(memoOf(decideAuthorization(full))).toBe('too_many_increments');
    // Another increment the same day as the newest entry still fits.
    const same_day = now_ms + (max_counted_entries - 1) * day_ms;
    const fits = incremental({ original_hold: hold, now_ms: same_day, counters: zeroCounters(same_day) });
    expect(decideAuthorization(fits).outcome).toBe('approve');
  });
});

describe('decideAuthorization: balance inquiry', () => {
  const inquiry = (overrides: Partial<Draft> = {}) =>
    authorization({ kind: 'balance_inquiry', amount_minor: 0, ...overrides });

  it('personal: the wallet, ledger = available + held', () => {
    const decision = decideAuthorization(
      inquiry({
        card: personal_card,
        cardholder: personal_holder,
        balance: { available_minor: 700, held_minor: 300 },
      }),
    );
    expect(decision).toEqual({
      outcome: 'balance',
      available_minor: 700,
      ledger_minor: 1_000,
      memo: 'wallet_balance',
    });
    const no_wallet = decideAuthorization(inquiry({ card: personal_card, cardholder: personal_holder }));
    expect(memoOf(no_wallet)).toBe('balance_not_found');
  });

  it('business: the smallest allowance left; 0 when counted out; 0 "unlimited" without limits', () => {
    const counters = zeroCounters();
    const used = { ...counters, day: { ...counters.day, amount_minor: 4_000, count: 3 } };
    const controls = { ...open_controls, per_transaction_limit_minor: 2_500, daily_limit_minor: 6_000 };
    expect(decideAuthorization(inquiry({ controls, counters: used }))).toMatchObject({
      available_minor: 2_000,
    });
    const small_purchase = { ...controls, per_transaction_limit_minor: 1_500 };
    expect(decideAuthorization(inquiry({ controls: small_purchase, counters: used }))).toMatchObject({
      available_minor: 1_500,
    });
    const weekly = { ...open_controls, weekly_limit_minor: 5_000, monthly_limit_minor: 9_000 };
    expect(decideAuthorization(inquiry({ controls: weekly, counters: used }))).toMatchObject({
      available_minor: 5_000,
    });
    const counted_out = { ...controls, daily_count_limit: 3 };
    expect(decideAuthorization(inquiry({ controls: counted_out, counters: used }))).toMatchObject({
      available_minor: 0,
      memo: 'remaining_allowance',
    });
    expect(decideAuthorization(inquiry())).toEqual({
      outcome: 'balance',
      available_minor: 0,
      ledger_minor: 0,
      memo: 'unlimited',
    });
  });

  it('still checks the card', () => {
    expect(memoOf(decideAuthorization(inquiry({ card: { ...business_card, state: 'suspended' } })))).toBe(
      'card_not_active',
    );
  });
});

describe('decideAuthorization: replays', () => {
  it('a replay returns the stored answer and counts nothing', () => {
    const input = authorization();
    const first = decideAuthorization(input);
    const stored = toStored(input, first);
    expect(stored).toEqual({
      jit_token: 'jit-1',
      kind: 'authorization',
      amount_minor: 1_000,
      outcome: 'approve',
    });
    if (stored === undefined) throw new Error('stored');
    // Even with a card since suspended: the answer given is the answer.
    const again = { ...input, replay: stored, card: { ...business_card, state: 'suspended' as const } };
    expect(decideAuthorization(again)).toEqual({ outcome: 'replay', stored });
    expect(toStored(again, decideAuthorization(again))).toBeUndefined();
  });

  it('a stored decline replays as the same decline', () => {
    const input = authorization({ currency: 'GBP' });
    const stored = toStored(input, decideAuthorization(input));
    expect(stored).toMatchObject({ outcome: 'decline', memo: 'currency_mismatch' });
    if (stored === undefined) throw new Error('stored');
    expect(decideAuthorization({ ...input, currency: 'USD', replay: stored })).toEqual({
      outcome: 'replay',
      stored,
    });
  });

  it('the same token with another amount or kind is a duplicate, not a retry', () => {
    const input = authorization();
    const stored = toStored(input, decideAuthorization(input));
    if (stored === undefined) throw new Error('stored');
    const changed = decideAuthorization({ ...input, amount_minor: 1_001, replay: stored });
    expect(changed).toEqual({
      outcome: 'decline',
      decline_reason: 'DUPLICATE_TRANSACTION',
      memo: 'replay_mismatch',
    });
    expect(memoOf(decideAuthorization({ ...input, kind: 'incremental', replay: stored }))).toBe(
      'replay_mismatch',
    );
  });
});

describe('decideAuthorization: a card we do not know', () => {
  it('declines INVALID_CARD and stores nothing for a replay to find', () => {
    const { card: _, ...unknown_card } = authorization();
    const decision = decideAuthorization(unknown_card);
    expect(decision).toEqual({ outcome: 'decline', decline_reason: 'INVALID_CARD', memo: 'card_not_found' });
    expect(toStored(unknown_card, decision)).toBeUndefined();
  });
});

describe('decideAuthorization: past the decision deadline', () => {
  it('declines timeout, as the release after a timeout would store, and holds nothing', () => {
    for (const kind of ['authorization', 'account_verification', 'balance_inquiry'] as const) {
      const input = authorization({ kind, amount_minor: kind === 'authorization' ? 1_000 : 0 });
      const late = { ...input, deadline_passed: true };
      expect(decideAuthorization(late)).toEqual({
        outcome: 'decline',
        decline_reason: 'TRANSACTION_NOT_PERMITTED',
        memo: 'timeout',
      });
      expect(toStored(late, decideAuthorization(late))).toEqual({
        jit_token: 'jit-1',
        kind,
        amount_minor: input.amount_minor,
        outcome: 'decline',
        decline_reason: 'TRANSACTION_NOT_PERMITTED',
        memo: 'timeout',
      });
    }
  });

  it('before every other rule but the replay: an earlier answer is still answered', () => {
    const input = authorization();
    const stored = toStored(input, decideAuthorization(input));
    if (stored === undefined) throw new Error('stored');
    const late = { ...input, deadline_passed: true };
    expect(decideAuthorization({ ...late, replay: stored })).toEqual({ outcome: 'replay', stored });
    // A card we do not know and a stand-in's hold do not matter: Marqeta has our timeout answer.
    const { card: _, ...unknown_card } = late;
    expect(memoOf(decideAuthorization(unknown_card))).toBe('timeout');
    expect(memoOf(decideAuthorization({ ...late, hold_exists: true }))).toBe('timeout');
  });
});

describe('decideAuthorization: a hold already exists under the token (stand-in advice first)', () => {
  it('answers approve as a replay of the stand-in: no new hold, nothing counted, nothing stored', () => {
    const input = authorization({ hold_exists: true, card: { ...business_card, state: 'suspended' } });
    const decision = decideAuthorization(input);
    expect(decision).toEqual({
      outcome: 'replay',
      stored: { jit_token: 'jit-1', kind: 'authorization', amount_minor: 1_000, outcome: 'approve' },
    });
    expect(toStored(input, decision)).toBeUndefined();
  });

  it('applies to authorizations only: an incremental grows its original as before', () => {
    const verification = authorization({ kind: 'account_verification', amount_minor: 0, hold_exists: true });
    expect(decideAuthorization(verification)).toMatchObject({ outcome: 'approve', hold: null });
  });
});
