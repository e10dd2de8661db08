import { describe, expect, it } from 'vitest';
import {
  applyAdvice,
  applyBalanceDelta,
  applyClearing,
  applyExpiry,
  applyRefund,
  applyReversal,
  decideAuthorization,
  type Hold,
  windowStarts,
} from '../src/index.ts';
import { authorization, day_ms, now_ms, personal_card, personal_holder, zeroCounters } from './fixtures.ts';

const starts = windowStarts(now_ms);
const today = { day_start: starts.day, week_start: starts.week, month_start: starts.month };
const later_ms = now_ms + 2 * day_ms;
const later_starts = windowStarts(later_ms);
const later = { day_start: later_starts.day, week_start: later_starts.week, month_start: later_starts.month };

function holdOf(overrides = {}): Hold {
  const decision = decideAuthorization(
    authorization({ jit_token: 'jit-h', amount_minor: 1_000, ...overrides }),
  );
  if (decision.outcome !== 'approve' || decision.hold === null) throw new Error('expected a hold');
  return decision.hold;
}

// The purchase a message names when it finds no hold (a stand-in's, say).
const purchase = {
  jit_token: 'jit-s',
  card_token: 'card-p',
  user_token: 'user-p',
  program: 'personal' as const,
  single_message: false,
};
const reverse = (hold: Hold | undefined, amount_minor?: number) =>
  applyReversal(hold, amount_minor, purchase);

const personal = () =>
  holdOf({
    card: personal_card,
    cardholder: personal_holder,
    balance: { available_minor: 5_000, held_minor: 0 },
  });

describe('applyReversal', () => {
  it('a full reversal gives back the amount and the count in the windows that counted them', () => {
    const effect = reverse(personal(), 1_000);
    expect(effect.note).toBe('released');
    expect(effect.released_minor).toBe(1_000);
    expect(effect.counter_deltas).toEqual([
      { ...today, amount_minor: -1_000, count: 0 },
      { ...today, amount_minor: 0, count: -1 },
    ]);
    expect(effect.balance_delta).toEqual({ available_minor: 1_000, held_minor: -1_000 });
    expect(effect.hold).toMatchObject({ amount_minor: 0, released_minor: 1_000, counted: [] });
  });

  it('a partial reversal keeps the count until nothing is held', () => {
    const first = reverse(holdOf(), 300);
    expect(first.counter_deltas).toEqual([{ ...today, amount_minor: -300, count: 0 }]);
    expect(first.hold?.amount_minor).toBe(700);
    const rest = reverse(first.hold ?? undefined);
    expect(rest.released_minor).toBe(700);
    expect(rest.counter_deltas).toContainEqual({ ...today, amount_minor: 0, count: -1 });
  });

  it('never releases more than is held', () => {
    const effect = reverse(holdOf(), 5_000);
    expect(effect.note).toBe('release_capped');
    expect(effect.released_minor).toBe(1_000);
    // Marqeta reversed more than we held: remembered, for an advice that may still come.
    expect(effect.hold?.reversed_beyond_minor).toBe(4_000);
    const again = reverse(effect.hold ?? undefined, 100);
    expect(again.released_minor).toBe(0);
    expect(again.counter_deltas).toEqual([]);
    expect(again.hold?.reversed_beyond_minor).toBe(4_100);
  });

  it('gives back the oldest windows first', () => {
    const hold = holdOf();
    const grown = decideAuthorization(
      authorization({
        kind: 'incremental',
        jit_token: 'jit-i',
        amount_minor: 500,
        original_hold: hold,
        now_ms: later_ms,
        counters: zeroCounters(later_ms),
      }),
    );
    if (grown.outcome !== 'approve' || grown.hold === null) throw new Error('expected approve');
    const effect = reverse(grown.hold, 1_200);
    expect(effect.counter_deltas).toEqual([
      { ...today, amount_minor: -1_000, count: 0 },
      { ...later, amount_minor: -200, count: 0 },
    ]);
    expect(effect.hold?.counted).toEqual([
      { ...today, amount_minor: 0, count: 1 },
      { ...later, amount_minor: 300, count: 0 },
    ]);
  });

  it('no hold: nothing moves, and an empty hold remembers the reversal for a later advice', () => {
    const effect = reverse(undefined, 100);
    expect(effect).toMatchObject({ note: 'hold_not_found', counter_deltas: [], released_minor: 0 });
    expect(effect.balance_delta).toEqual({ available_minor: 0, held_minor: 0 });
    expect(effect.hold).toEqual({
      jit_token: 'jit-s',
      card_token: 'card-p',
      user_token: 'user-p',
      program: 'personal',
      amount_minor: 0,
      authorized_minor: 0,
      released_minor: 0,
      captured_minor: 0,
      reversed_beyond_minor: 100,
      on_expiry: 'release',
      counted: [],
    });
    for (const amount of [undefined, 0, -1]) expect(reverse(undefined, amount).hold).toBeNull();
  });

  it('an unreadable amount changes nothing', () => {
    const hold = holdOf();
    for (const amount of [-1, 2.5, Number.NaN]) {
      expect(reverse(hold, amount)).toMatchObject({ note: 'invalid_amount', hold, released_minor: 0 });
    }
  });
});

describe('applyClearing', () => {
  const context = {
    purchase,
    final: false,
    now_ms: later_ms,
    counters: zeroCounters(later_ms),
  };

  it('the exact amount turns the hold into spend: counters unchanged, held money leaves', () => {
    const effect = applyClearing(personal(), 1_000, context);
    expect(effect).toMatchObject({
      note: 'captured',
      captured_minor: 1_000,
      released_minor: 0,
      counter_deltas: [],
    });
    expect(effect.balance_delta).toEqual({ available_minor: 0, held_minor: -1_000 });
    expect(effect.hold).toMatchObject({ amount_minor: 0, captured_minor: 1_000, counted: [] });
    // Captured: a later reversal cannot give the count back.
    expect(reverse(effect.hold ?? undefined).counter_deltas).toEqual([]);
  });

  it('several clearings consume one hold; what is left stays held unless the clearing is final', () => {
    const first = applyClearing(personal(), 600, context);
    expect(first.hold).toMatchObject({ amount_minor: 400, captured_minor: 600 });
    expect(first.hold?.counted).toEqual([{ ...today, amount_minor: 400, count: 0 }]);
    const last = applyClearing(first.hold ?? undefined, 300, { ...context, final: true });
    expect(last).toMatchObject({ captured_minor: 300, released_minor: 100 });
    expect(last.counter_deltas).toEqual([{ ...today, amount_minor: -100, count: 0 }]);
    expect(last.balance_delta).toEqual({ available_minor: 100, held_minor: -400 });
    expect(last.hold).toMatchObject({ amount_minor: 0, captured_minor: 900, released_minor: 100 });
  });

  it('more than held: the excess is spend counted today, without a count', () => {
    const effect = applyClearing(personal(), 1_250, context);
    expect(effect.note).toBe('over_captured');
    // The excess joins the hold: captured is all that was cleared.
    expect(effect.hold).toMatchObject({ amount_minor: 0, authorized_minor: 1_250, captured_minor: 1_250 });
    expect(effect.counter_deltas).toEqual([{ ...later, amount_minor: 250, count: 0 }]);
    expect(effect.balance_delta).toEqual({ available_minor: -250, held_minor: -1_000 });
  });

  it('no hold: a force post, counted today with its count, left cleared on a hold that holds nothing', () => {
    const effect = applyClearing(undefined, 800, context);
    expect(effect).toMatchObject({ note: 'force_post', captured_minor: 0, released_minor: 0 });
    expect(effect.hold).toMatchObject({
      jit_token: 'jit-s',
      amount_minor: 0,
      authorized_minor: 800,
      captured_minor: 800,
      counted: [],
    });
    expect(effect.counter_deltas).toEqual([{ ...later, amount_minor: 800, count: 1 }]);
    expect(effect.balance_delta).toEqual({ available_minor: -800, held_minor: 0 });
    const business = applyClearing(undefined, 800, {
      ...context,
      purchase: { ...purchase, program: 'business' },
    });
    expect(business.balance_delta).toEqual({ available_minor: 0, held_minor: 0 });
    // A second clearing of the same purchase is the same purchase: no second count.
    const again = applyClearing(effect.hold ?? undefined, 200, context);
    expect(again.counter_deltas).toEqual([{ ...later, amount_minor: 200, count: 0 }]);
  });

  it('cleared after a full reversal: the purchase counts again, once however many clearings follow', () => {
    const reversed = reverse(holdOf(), 1_000).hold ?? undefined;
    const first = applyClearing(reversed, 600, context);
    expect(first.counter_deltas).toEqual([{ ...later, amount_minor: 600, count: 1 }]);
    expect(first.hold).toMatchObject({ amount_minor: 0, authorized_minor: 1_600, captured_minor: 600 });
    const second = applyClearing(first.hold ?? undefined, 400, context);
    expect(second.counter_deltas).toEqual([{ ...later, amount_minor: 400, count: 0 }]);
    expect(second.hold).toMatchObject({ amount_minor: 0, authorized_minor: 2_000, captured_minor: 1_000 });
  });
});

describe('applyRefund', () => {
  const at = { now_ms, counters: zeroCounters() };

  it('personal: credits the wallet', () => {
    const effect = applyRefund('personal', 400, 'counters_unchanged', at);
    expect(effect).toMatchObject({ note: 'refund_credited', counter_deltas: [] });
    expect(effect.balance_delta).toEqual({ available_minor: 400, held_minor: 0 });
  });

  it('business: counters per mode, never a count', () => {
    expect(applyRefund('business', 400, 'counters_unchanged', at)).toMatchObject({
      note: 'refund_counters_unchanged',
      counter_deltas: [],
      balance_delta: { available_minor: 0, held_minor: 0 },
    });
    const restore = applyRefund('business', 400, 'restore_counters', at);
    expect(restore.note).toBe('refund_counters_restored');
    expect(restore.counter_deltas).toEqual([{ ...today, amount_minor: -400, count: 0 }]);
  });

  it('an unreadable amount credits nothing', () => {
    expect(applyRefund('personal', -400, 'counters_unchanged', at)).toMatchObject({
      note: 'invalid_amount',
      balance_delta: { available_minor: 0, held_minor: 0 },
    });
  });
});

describe('applyAdvice', () => {
  const advice = {
    jit_token: 'jit-s',
    card_token: 'card-p',
    user_token: 'user-p',
    program: 'personal' as const,
    amount_minor: 2_000,
    single_message: false,
    now_ms,
    counters: zeroCounters(),
  };

  it('a stand-in approval we never saw is held and counted, whatever the limits', () => {
    const effect = applyAdvice(undefined, advice);
    expect(effect.note).toBe('standin_held');
    expect(effect.counter_deltas).toEqual([{ ...today, amount_minor: 2_000, count: 1 }]);
    expect(effect.balance_delta).toEqual({ available_minor: -2_000, held_minor: 2_000 });
    expect(effect.hold).toMatchObject({ jit_token: 'jit-s', amount_minor: 2_000, on_expiry: 'release' });
    expect(applyAdvice(undefined, { ...advice, single_message: true }).hold?.on_expiry).toBe('capture');
  });

  it('an advice for a hold we have adjusts it, never counts it twice', () => {
    const hold = personal();
    expect(applyAdvice(hold, { ...advice, amount_minor: 1_000 })).toMatchObject({
      note: 'advice_unchanged',
      counter_deltas: [],
    });
    const lower = applyAdvice(hold, { ...advice, amount_minor: 450 });
    expect(lower).toMatchObject({ note: 'advice_lowered', released_minor: 550 });
    expect(lower.counter_deltas).toEqual([{ ...today, amount_minor: -550, count: 0 }]);
    const higher = applyAdvice(hold, {
      ...advice,
      amount_minor: 1_300,
      now_ms: later_ms,
      counters: undefined,
    });
    expect(higher.note).toBe('advice_raised');
    expect(higher.counter_deltas).toEqual([{ ...later, amount_minor: 300, count: 0 }]);
    expect(higher.hold).toMatchObject({ amount_minor: 1_300, authorized_minor: 1_300 });
  });

  it('captured money is not moved by an advice', () => {
    const cleared = applyClearing(personal(), 600, {
      purchase,
      final: false,
      now_ms,
      counters: undefined,
    });
    const effect = applyAdvice(cleared.hold ?? undefined, { ...advice, amount_minor: 700 });
    expect(effect).toMatchObject({ note: 'advice_lowered', released_minor: 300 });
    expect(effect.hold).toMatchObject({ amount_minor: 100, captured_minor: 600 });
  });
});

// Marqeta stood in: its advice, reversal and clearing may reach us in any order. Each order must
// end with the same money held and counted as advice first.
describe('a stand-in whose reversal or clearing came before its advice', () => {
  const advice = { ...purchase, amount_minor: 2_000, now_ms, counters: zeroCounters() };

  it('reversed in full first: the advice holds nothing and counts nothing', () => {
    const reversed = reverse(undefined, 2_000);
    const effect = applyAdvice(reversed.hold ?? undefined, advice);
    expect(effect).toMatchObject({ note: 'advice_unchanged', counter_deltas: [] });
    expect(effect.balance_delta).toEqual({ available_minor: 0, held_minor: 0 });
    expect(effect.hold?.amount_minor).toBe(0);
  });

  it('reversed in part first: the advice holds the rest and counts the purchase once', () => {
    const reversed = reverse(undefined, 500);
    const effect = applyAdvice(reversed.hold ?? undefined, advice);
    expect(effect.note).toBe('advice_raised');
    expect(effect.counter_deltas).toEqual([{ ...today, amount_minor: 1_500, count: 1 }]);
    expect(effect.balance_delta).toEqual({ available_minor: -1_500, held_minor: 1_500 });
    // The same as advice first, then the reversal.
    const in_order = reverse(applyAdvice(undefined, advice).hold ?? undefined, 500);
    expect(in_order.hold?.amount_minor).toBe(1_500);
  });

  it('cleared first (a force post): the advice holds only what was not cleared, never counted twice', () => {
    const cleared = applyClearing(undefined, 1_200, {
      purchase,
      final: false,
      now_ms,
      counters: zeroCounters(),
    });
    const effect = applyAdvice(cleared.hold ?? undefined, advice);
    expect(effect.counter_deltas).toEqual([{ ...today, amount_minor: 800, count: 0 }]);
    expect(effect.hold).toMatchObject({ amount_minor: 800, captured_minor: 1_200 });
    const all_cleared = applyClearing(undefined, 2_000, {
      purchase,
      final: false,
      now_ms,
      counters: zeroCounters(),
    });
    expect(applyAdvice(all_cleared.hold ?? undefined, advice)).toMatchObject({
      note: 'advice_unchanged',
      counter_deltas: [],
    });
  });

  it('a clearing of zero first counts nothing, so the advice counts its purchase once', () => {
    const zero = applyClearing(undefined, 0, { purchase, final: false, now_ms, counters: zeroCounters() });
    expect(zero).toMatchObject({ note: 'force_post', counter_deltas: [] });
    const effect = applyAdvice(zero.hold ?? undefined, advice);
    expect(effect.counter_deltas).toEqual([{ ...today, amount_minor: 2_000, count: 1 }]);
  });

  it('an advice that holds again what was released in full counts the purchase again', () => {
    const released = reverse(personal(), undefined);
    const effect = applyAdvice(released.hold ?? undefined, { ...advice, amount_minor: 1_000 });
    expect(effect.counter_deltas).toEqual([{ ...today, amount_minor: 1_000, count: 1 }]);
  });
});

describe('applyExpiry', () => {
  it('releases an ordinary hold', () => {
    expect(applyExpiry(holdOf())).toMatchObject({ note: 'expired_released', released_minor: 1_000 });
  });

  it('captures a single-message hold: that money is gone', () => {
    const effect = applyExpiry(holdOf({ single_message: true }));
    expect(effect).toMatchObject({ note: 'expired_captured', captured_minor: 1_000, counter_deltas: [] });
  });
});

describe('applyBalanceDelta', () => {
  it('held money never goes negative; available may, after money Marqeta moved', () => {
    const balance = { available_minor: 100, held_minor: 50 };
    expect(applyBalanceDelta(balance, { available_minor: -300, held_minor: -50 })).toEqual({
      available_minor: -200,
      held_minor: 0,
    });
    expect(() => applyBalanceDelta(balance, { available_minor: 0, held_minor: -51 })).toThrow(/held balance/);
  });
});
