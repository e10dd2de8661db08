import assert from 'node:assert/strict';
import { max_amount_minor } from './decide.ts';
import {
  addCounted,
  assertHold,
  captureFromHold,
  countedIn,
  holdDelta,
  type Movement,
  no_balance_change,
  releaseFromHold,
  spendDelta,
  sumBalanceDeltas,
} from './holds.ts';
import type {
  Balance,
  BalanceDelta,
  CounterDelta,
  Hold,
  Program,
  WindowCounters,
  WindowStarts,
} from './types.ts';
import { currentStarts } from './windows.ts';

// Informative messages: Marqeta tells us what already happened. Each function returns what to
// change (hold, counter deltas, wallet delta) and never throws for data Marqeta may send;
// an amount we cannot read is ignored with a note, the caller logs it.

export const effect_notes = [
  'released',
  'release_capped',
  'hold_not_found',
  'invalid_amount',
  'captured',
  'over_captured',
  'force_post',
  'refund_credited',
  'refund_counters_restored',
  'refund_counters_unchanged',
  'standin_held',
  'advice_raised',
  'advice_lowered',
  'advice_unchanged',
  'expired_released',
  'expired_captured',
] as const;
export type EffectNote = (typeof effect_notes)[number];

export interface EffectResult {
  // The hold after the effect; null when there is none (force post, refund, unknown hold).
  readonly hold: Hold | null;
  readonly counter_deltas: readonly CounterDelta[];
  readonly balance_delta: BalanceDelta;
  readonly released_minor: number;
  readonly captured_minor: number;
  readonly note: EffectNote;
}

// Where "today" is for an effect that counts now: the stored counters' windows if they are
// newer than our clock (see currentCounters).
export interface Today {
  readonly now_ms: number;
  readonly counters: WindowCounters | undefined;
}

function readable(amount_minor: number): boolean {
  return Number.isSafeInteger(amount_minor) && amount_minor >= 0 && amount_minor <= max_amount_minor;
}

function nothing(hold: Hold | undefined, note: EffectNote): EffectResult {
  return {
    hold: hold ?? null,
    counter_deltas: [],
    balance_delta: no_balance_change,
    released_minor: 0,
    captured_minor: 0,
    note,
  };
}

function result(movement: Movement, note: EffectNote): EffectResult {
  return { ...movement, note };
}

// The purchase an informative message names, for when it finds no hold: the hold it leaves is
// keyed by `jit_token` (the original's, else the message's own) and owned by the card.
export interface Purchase {
  readonly jit_token: string;
  readonly card_token: string;
  readonly user_token: string;
  readonly program: Program;
  readonly single_message: boolean;
}

// A hold of a purchase we know nothing held for yet.
function emptyHold(purchase: Purchase): Hold {
  return {
    jit_token: purchase.jit_token,
    card_token: purchase.card_token,
    user_token: purchase.user_token,
    program: purchase.program,
    amount_minor: 0,
    authorized_minor: 0,
    released_minor: 0,
    captured_minor: 0,
    on_expiry: purchase.single_message ? 'capture' : 'release',
    counted: [],
  };
}

function withReversedBeyond(hold: Hold, amount_minor: number): Hold {
  if (amount_minor === 0) return hold;
  return { ...hold, reversed_beyond_minor: (hold.reversed_beyond_minor ?? 0) + amount_minor };
}

// Releases the given part of the hold, or all of it; never more than is still held. What it
// asked beyond the hold is remembered on it: when Marqeta stood in, its reversal may arrive
// before its advice (which then holds that much less) and finds no hold at all, so it leaves
// an empty one. Without an amount there is nothing to remember.
export function applyReversal(
  hold: Hold | undefined,
  amount_minor: number | undefined,
  purchase: Purchase,
): EffectResult {
  if (hold === undefined) {
    if (amount_minor === undefined || !readable(amount_minor) || amount_minor === 0)
      return nothing(undefined, 'hold_not_found');
    return {
      ...nothing(undefined, 'hold_not_found'),
      hold: withReversedBeyond(emptyHold(purchase), amount_minor),
    };
  }
  if (amount_minor !== undefined && !readable(amount_minor)) return nothing(hold, 'invalid_amount');
  const asked = amount_minor ?? hold.amount_minor;
  const release = Math.min(asked, hold.amount_minor);
  const movement = releaseFromHold(hold, release);
  const next = withReversedBeyond(movement.hold, asked - release);
  return result({ ...movement, hold: next }, asked > release ? 'release_capped' : 'released');
}

export interface ClearingContext extends Today {
  // The purchase, for a clearing without a hold (force post).
  readonly purchase: Purchase;
  // Marqeta said this is the last clearing: what is still held is released. Not said: the rest
  // stays held (several clearings may follow) until a reversal or expiry ends it.
  readonly final: boolean;
}

// Cleared beyond what was held: the excess joins the hold as authorized and captured, so that
// captured_minor is all that was cleared of the purchase (held = authorized - released -
// captured still holds).
function captureExcess(hold: Hold, excess_minor: number): Hold {
  const next = {
    ...hold,
    authorized_minor: hold.authorized_minor + excess_minor,
    captured_minor: hold.captured_minor + excess_minor,
  };
  assertHold(next);
  return next;
}

// Turns held money into spend. More than held (tips, fuel): the excess is spend counted in
// today's windows, without a count (same purchase). No hold: a force post, a purchase counted
// today in full, count included. Either way it has happened: no limit or balance applies.
export function applyClearing(
  hold: Hold | undefined,
  amount_minor: number,
  context: ClearingContext,
): EffectResult {
  if (!readable(amount_minor)) return nothing(hold, 'invalid_amount');
  const starts = currentStarts(context.counters, context.now_ms);
  // The force post leaves its purchase cleared on a hold that holds nothing: a later advice of
  // it (Marqeta stood in) holds only what was not cleared, and later clearings count no more.
  if (hold === undefined) {
    return {
      hold: captureExcess(emptyHold(context.purchase), amount_minor),
      // Clearing nothing is no purchase: counting it would count the advice's purchase twice.
      counter_deltas: amount_minor > 0 ? [countedIn(starts, amount_minor, 1)] : [],
      balance_delta: spendDelta(context.purchase.program, amount_minor),
      released_minor: 0,
      captured_minor: 0,
      note: 'force_post',
    };
  }
  const consumed = Math.min(amount_minor, hold.amount_minor);
  const excess = amount_minor - consumed;
  // Fully reversed (its count given back) and then cleared anyway: the purchase happened after
  // all, so it counts again, once: the excess is captured below, and a later clearing sees it.
  const recount = hold.amount_minor === 0 && hold.captured_minor === 0 && excess > 0 ? 1 : 0;
  const captured = captureFromHold(hold, consumed, amount_minor > 0);
  const counter_deltas = excess > 0 ? [countedIn(starts, excess, recount)] : [];
  let balance_delta = sumBalanceDeltas(captured.balance_delta, spendDelta(hold.program, excess));
  let next = excess > 0 ? captureExcess(captured.hold, excess) : captured.hold;
  let released_minor = 0;
  if (context.final && next.amount_minor > 0) {
    const rest = releaseFromHold(next, next.amount_minor);
    counter_deltas.push(...rest.counter_deltas);
    balance_delta = sumBalanceDeltas(balance_delta, rest.balance_delta);
    next = rest.hold;
    released_minor = rest.released_minor;
  }
  return {
    hold: next,
    counter_deltas,
    balance_delta,
    released_minor,
    captured_minor: consumed,
    note: excess > 0 ? 'over_captured' : 'captured',
  };
}

export const refund_modes = ['counters_unchanged', 'restore_counters'] as const;
export type RefundMode = (typeof refund_modes)[number];

// A refund credits a personal wallet. Limits: 'counters_unchanged' keeps spend as spent (the
// cautious default); 'restore_counters' gives the amount back in today's windows, never below
// zero, and never a count: the purchase still happened.
export function applyRefund(
  program: Program,
  amount_minor: number,
  mode: RefundMode,
  today: Today,
): EffectResult {
  if (!readable(amount_minor)) return nothing(undefined, 'invalid_amount');
  const credit: BalanceDelta =
    program === 'personal' ? { available_minor: amount_minor, held_minor: 0 } : no_balance_change;
  const restore = mode === 'restore_counters' && amount_minor > 0;
  const starts = currentStarts(today.counters, today.now_ms);
  const note: EffectNote =
    program === 'personal'
      ? 'refund_credited'
      : restore
        ? 'refund_counters_restored'
        : 'refund_counters_unchanged';
  return {
    hold: null,
    counter_deltas: restore ? [countedIn(starts, -amount_minor, 0)] : [],
    balance_delta: credit,
    released_minor: 0,
    captured_minor: 0,
    note,
  };
}

export interface AdviceInput extends Today, Purchase {
  // The transaction's amount as Marqeta decided it.
  readonly amount_minor: number;
}

// Marqeta decided without us (stand-in) or adjusted an authorization (advice). It has happened:
// held as approved even past limits or balance. A hold we already have for it is adjusted to
// the advised amount less what was cleared and what reversals took beyond the hold, never
// counted a second time; a hold that holds nothing and was never cleared (released in full, or
// left by an early reversal) no longer counts its purchase, so raising it counts it again.
export function applyAdvice(hold: Hold | undefined, input: AdviceInput): EffectResult {
  if (!readable(input.amount_minor)) return nothing(hold, 'invalid_amount');
  const starts = currentStarts(input.counters, input.now_ms);
  if (hold === undefined) {
    const entry = countedIn(starts, input.amount_minor, 1);
    const created: Hold = {
      ...emptyHold(input),
      amount_minor: input.amount_minor,
      authorized_minor: input.amount_minor,
      counted: input.amount_minor > 0 ? [entry] : [],
    };
    assertHold(created);
    const counter_deltas = input.amount_minor > 0 ? [entry] : [];
    const balance_delta = holdDelta(input.program, input.amount_minor);
    return {
      hold: created,
      counter_deltas,
      balance_delta,
      released_minor: 0,
      captured_minor: 0,
      note: 'standin_held',
    };
  }
  return adjustByAdvice(capturedAtExpiry(hold, input.single_message), input, starts);
}

// A single-message advice says the money left when it was approved: whatever the hold it finds
// (an empty one an early reversal or force post left is 'release'), it ends captured.
function capturedAtExpiry(hold: Hold, single_message: boolean): Hold {
  return single_message && hold.on_expiry !== 'capture' ? { ...hold, on_expiry: 'capture' } : hold;
}

function adjustByAdvice(hold: Hold, input: AdviceInput, starts: WindowStarts): EffectResult {
  // Captured money is spend already: the advice can move only what is still held.
  const target = Math.max(0, input.amount_minor - hold.captured_minor - (hold.reversed_beyond_minor ?? 0));
  if (target < hold.amount_minor)
    return result(releaseFromHold(hold, hold.amount_minor - target), 'advice_lowered');
  if (target === hold.amount_minor) return nothing(hold, 'advice_unchanged');
  const raise = target - hold.amount_minor;
  const recount = hold.amount_minor === 0 && hold.captured_minor === 0 ? 1 : 0;
  const entry = countedIn(starts, raise, recount);
  const raised: Hold = {
    ...hold,
    amount_minor: target,
    authorized_minor: hold.authorized_minor + raise,
    counted: addCounted(hold.counted, entry),
  };
  assertHold(raised);
  const balance_delta = holdDelta(hold.program, raise);
  return {
    hold: raised,
    counter_deltas: [entry],
    balance_delta,
    released_minor: 0,
    captured_minor: 0,
    note: 'advice_raised',
  };
}

// Marqeta never said how the authorization ended (the caller decides when: network hold
// periods). An ordinary hold is released; a single-message one was captured when approved.
export function applyExpiry(hold: Hold): EffectResult {
  if (hold.on_expiry === 'capture')
    return result(captureFromHold(hold, hold.amount_minor, true), 'expired_captured');
  return result(releaseFromHold(hold, hold.amount_minor), 'expired_released');
}

// Applies a wallet delta. Held money never goes negative (a bug otherwise); available may, after
// money Marqeta moved without asking (force post, over-capture, stand-in).
export function applyBalanceDelta(balance: Balance, delta: BalanceDelta): Balance {
  const next = {
    available_minor: balance.available_minor + delta.available_minor,
    held_minor: balance.held_minor + delta.held_minor,
  };
  assert.ok(
    Number.isSafeInteger(next.available_minor) && Number.isSafeInteger(next.held_minor),
    'balance overflow',
  );
  assert.ok(next.held_minor >= 0, 'held balance never negative');
  return next;
}
