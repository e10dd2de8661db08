import assert from 'node:assert/strict';
import type { BalanceDelta, Counted, CounterDelta, Hold, Program, WindowStarts } from './types.ts';

// One entry per distinct set of windows; bounds the hold's size in Redis. Reached only by a
// hotel-style chain of incrementals over sixteen different days.
export const max_counted_entries = 16;

export const no_balance_change: BalanceDelta = { available_minor: 0, held_minor: 0 };

function isNatural(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

export function assertHold(hold: Hold): void {
  const numbers = [
    hold.amount_minor,
    hold.authorized_minor,
    hold.released_minor,
    hold.captured_minor,
    hold.reversed_beyond_minor ?? 0,
  ];
  assert.ok(numbers.every(isNatural), 'hold amounts are non-negative integers');
  assert.equal(
    hold.amount_minor,
    hold.authorized_minor - hold.released_minor - hold.captured_minor,
    'released + captured + held = authorized',
  );
  assert.ok(hold.counted.length <= max_counted_entries, 'counted entries bounded');
  let counted_total = 0;
  for (const entry of hold.counted) {
    assert.ok(isNatural(entry.amount_minor) && isNatural(entry.count), 'counted entries non-negative');
    counted_total += entry.amount_minor;
  }
  assert.equal(counted_total, hold.amount_minor, 'what is held is exactly what is still counted');
}

export function sameWindows(entry: Counted, starts: WindowStarts): boolean {
  return (
    entry.day_start === starts.day && entry.week_start === starts.week && entry.month_start === starts.month
  );
}

export function countedIn(starts: WindowStarts, amount_minor: number, count: number): Counted {
  return { day_start: starts.day, week_start: starts.week, month_start: starts.month, amount_minor, count };
}

export function canCountIn(counted: readonly Counted[], starts: WindowStarts): boolean {
  const last = counted[counted.length - 1];
  return counted.length < max_counted_entries || (last !== undefined && sameWindows(last, starts));
}

// Appends what was counted in `starts`, merging with the newest entry when the windows match.
// Full (only an advice can get here, it cannot be declined): merged into the newest entry, so a
// later release gives back in that entry's older windows and today's stay counted: stricter.
export function addCounted(counted: readonly Counted[], entry: Counted): Counted[] {
  const last = counted[counted.length - 1];
  const starts = { day: entry.day_start, week: entry.week_start, month: entry.month_start };
  if (last !== undefined && (sameWindows(last, starts) || counted.length >= max_counted_entries)) {
    const merged = {
      ...last,
      amount_minor: last.amount_minor + entry.amount_minor,
      count: last.count + entry.count,
    };
    return [...counted.slice(0, -1), merged];
  }
  return [...counted, entry];
}

// Takes amount from the oldest entries first: giving back in the oldest windows can only leave
// the current windows counted more, never less. Entries left with nothing are dropped.
function takeOldestFirst(counted: readonly Counted[], amount_minor: number) {
  const left: Counted[] = [];
  const taken: Counted[] = [];
  let remaining = amount_minor;
  for (const entry of counted) {
    const take = Math.min(remaining, entry.amount_minor);
    remaining -= take;
    if (take > 0) taken.push({ ...entry, amount_minor: take, count: 0 });
    const rest = { ...entry, amount_minor: entry.amount_minor - take };
    if (rest.amount_minor > 0 || rest.count > 0) left.push(rest);
  }
  assert.equal(remaining, 0, 'never take more than is counted');
  return { left, taken };
}

export interface Movement {
  readonly hold: Hold;
  readonly counter_deltas: CounterDelta[];
  readonly balance_delta: BalanceDelta;
  readonly released_minor: number;
  readonly captured_minor: number;
}

function walletDelta(program: Program, available_minor: number, held_minor: number): BalanceDelta {
  return program === 'personal' ? { available_minor, held_minor } : no_balance_change;
}

// Gives back part of what is held: counters in the windows that counted it, the wallet's
// available balance. When nothing stays held the authorization is gone, so its count is given
// back too (a capture has already zeroed the count of a purchase that happened).
export function releaseFromHold(hold: Hold, amount_minor: number): Movement {
  assert.ok(isNatural(amount_minor) && amount_minor <= hold.amount_minor, 'release at most what is held');
  const { left, taken } = takeOldestFirst(hold.counted, amount_minor);
  const counter_deltas: CounterDelta[] = taken.map((entry) => ({
    ...entry,
    amount_minor: -entry.amount_minor,
  }));
  const held = hold.amount_minor - amount_minor;
  if (held === 0) {
    for (const entry of left) {
      if (entry.count > 0) counter_deltas.push({ ...entry, amount_minor: 0, count: -entry.count });
    }
  }
  const next: Hold = {
    ...hold,
    amount_minor: held,
    released_minor: hold.released_minor + amount_minor,
    counted: held === 0 ? [] : left,
  };
  assertHold(next);
  return {
    hold: next,
    counter_deltas,
    balance_delta: walletDelta(hold.program, amount_minor, -amount_minor),
    released_minor: amount_minor,
    captured_minor: 0,
  };
}

// Turns part of the hold into spend. Spend stays counted, so no counter moves; once a purchase
// has happened its count is final and can no longer be given back by a release.
export function captureFromHold(hold: Hold, amount_minor: number, purchase_happened: boolean): Movement {
  assert.ok(isNatural(amount_minor) && amount_minor <= hold.amount_minor, 'capture at most what is held');
  const { left } = takeOldestFirst(hold.counted, amount_minor);
  const counted = purchase_happened
    ? left.map((entry) => ({ ...entry, count: 0 })).filter((entry) => entry.amount_minor > 0)
    : left;
  const next: Hold = {
    ...hold,
    amount_minor: hold.amount_minor - amount_minor,
    captured_minor: hold.captured_minor + amount_minor,
    counted,
  };
  assertHold(next);
  return {
    hold: next,
    counter_deltas: [],
    balance_delta: walletDelta(hold.program, 0, -amount_minor),
    released_minor: 0,
    captured_minor: amount_minor,
  };
}

// Money that left without a hold (force post, over-capture, stand-in): available goes down,
// possibly below zero, because it has already happened.
export function spendDelta(program: Program, amount_minor: number): BalanceDelta {
  return walletDelta(program, -amount_minor, 0);
}

export function holdDelta(program: Program, amount_minor: number): BalanceDelta {
  return walletDelta(program, -amount_minor, amount_minor);
}

export function sumBalanceDeltas(a: BalanceDelta, b: BalanceDelta): BalanceDelta {
  return { available_minor: a.available_minor + b.available_minor, held_minor: a.held_minor + b.held_minor };
}
