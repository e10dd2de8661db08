import assert from 'node:assert/strict';
import type { CounterDelta, WindowCounter, WindowCounters, WindowStarts } from './types.ts';

// Calendar arithmetic on days since 1970-01-01 (UTC), integers only, after Howard Hinnant's
// "chrono-Compatible Low-Level Date Algorithms". No Date object: the Lua port in Redis must
// produce the same numbers with math.floor, and Date has nothing to add for UTC anyway.

export const ms_per_day = 86_400_000;
// 0000-03-01, the start of Hinnant's era 0: days before it would need negative eras.
export const min_day = -719_468;

// Floor division for integers below 2^53. Lua 5.1 has only doubles: math.floor(a / b) gives the
// same result there, since the quotient of such integers never rounds across an integer.
function div(a: number, b: number): number {
  return Math.floor(a / b);
}

export interface CivilDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

export function civilFromDays(days: number): CivilDate {
  assert.ok(Number.isSafeInteger(days) && days >= min_day, `day out of range: ${days}`);
  const z = days + 719_468;
  const era = div(z, 146_097);
  const doe = z - era * 146_097;
  const yoe = div(doe - div(doe, 1_460) + div(doe, 36_524) - div(doe, 146_096), 365);
  const doy = doe - (365 * yoe + div(yoe, 4) - div(yoe, 100));
  const mp = div(5 * doy + 2, 153);
  const day = doy - div(153 * mp + 2, 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return { year, month, day };
}

export function daysFromCivil(year: number, month: number, day: number): number {
  assert.ok(Number.isSafeInteger(year) && year >= 0, `year out of range: ${year}`);
  assert.ok(Number.isSafeInteger(month) && month >= 1 && month <= 12, `month out of range: ${month}`);
  assert.ok(Number.isSafeInteger(day) && day >= 1 && day <= 31, `day out of range: ${day}`);
  const y = month <= 2 ? year - 1 : year;
  const era = div(y, 400);
  const yoe = y - era * 400;
  const doy = div(153 * (month > 2 ? month - 3 : month + 9) + 2, 5) + day - 1;
  const doe = yoe * 365 + div(yoe, 4) - div(yoe, 100) + doy;
  return era * 146_097 + doe - 719_468;
}

export function dayFromMs(now_ms: number): number {
  assert.ok(Number.isSafeInteger(now_ms) && now_ms >= 0, `now_ms must be a non-negative integer: ${now_ms}`);
  return div(now_ms, ms_per_day);
}

// Monday = 0 ... Sunday = 6. 1970-01-01 was a Thursday (3).
export function isoWeekday(days: number): number {
  return (((days + 3) % 7) + 7) % 7;
}

export function windowStarts(now_ms: number): WindowStarts {
  const day = dayFromMs(now_ms);
  const civil = civilFromDays(day);
  return { day, week: day - isoWeekday(day), month: day - (civil.day - 1) };
}

// 'YYYY-MM-DD', for Redis keys and logs (Lua: string.format('%04d-%02d-%02d', ...)).
export function dayToIsoDate(days: number): string {
  const { year, month, day } = civilFromDays(days);
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

// Card expiry: valid through the last day of expiration_month, so expired from the first day
// of the month after, compared as year * 12 + month.
export function isExpired(expiration_year: number, expiration_month: number, now_ms: number): boolean {
  assert.ok(Number.isSafeInteger(expiration_year) && expiration_year >= 1970, 'expiration_year');
  assert.ok(Number.isSafeInteger(expiration_month) && expiration_month >= 1 && expiration_month <= 12);
  const now = civilFromDays(dayFromMs(now_ms));
  return now.year * 12 + now.month > expiration_year * 12 + expiration_month;
}

const zero_counter = { amount_minor: 0, count: 0 } as const;

function rollWindow(stored: WindowCounter | undefined, start: number): WindowCounter {
  // A stored window newer than our clock (another server's clock ran ahead across midnight)
  // stays as it is: counting into it is stricter than forgetting it.
  if (stored !== undefined && stored.start >= start) return stored;
  return { start, ...zero_counter };
}

// The counters as they stand now: a window that has closed counts from zero.
export function currentCounters(stored: WindowCounters | undefined, now_ms: number): WindowCounters {
  const starts = windowStarts(now_ms);
  return {
    day: rollWindow(stored?.day, starts.day),
    week: rollWindow(stored?.week, starts.week),
    month: rollWindow(stored?.month, starts.month),
  };
}

// The windows an event at now_ms counts in, given what is stored (see rollWindow).
export function currentStarts(stored: WindowCounters | undefined, now_ms: number): WindowStarts {
  const current = currentCounters(stored, now_ms);
  return { day: current.day.start, week: current.week.start, month: current.month.start };
}

function applyWindow(
  stored: WindowCounter,
  start: number,
  amount_minor: number,
  count: number,
): WindowCounter {
  const counts = amount_minor > 0 || count > 0;
  if (start === stored.start) {
    // Giving back never goes below zero: a refund in 'restore_counters' mode may already have
    // given the allowance back. Stopping at zero leaves the counter higher, the safe side.
    const amount = Math.max(0, stored.amount_minor + amount_minor);
    const total = Math.max(0, stored.count + count);
    assert.ok(Number.isSafeInteger(amount) && Number.isSafeInteger(total), 'counter overflow');
    return { start, amount_minor: amount, count: total };
  }
  if (start > stored.start) {
    // The stored window has closed; a give-back for a window never stored has nothing to undo.
    return counts ? { start, amount_minor, count } : { start, ...zero_counter };
  }
  // Counting into a window older than the stored one means the delta was computed without
  // currentStarts(stored, ...): a bug. Giving back to a closed window changes nothing now.
  assert.ok(!counts, `counted into closed window ${start} < ${stored.start}`);
  return stored;
}

export function applyCounterDeltas(
  counters: WindowCounters,
  deltas: readonly CounterDelta[],
): WindowCounters {
  let day = counters.day;
  let week = counters.week;
  let month = counters.month;
  for (const delta of deltas) {
    const up = delta.amount_minor >= 0 && delta.count >= 0;
    const down = delta.amount_minor <= 0 && delta.count <= 0;
    assert.ok(up || down, 'a counter delta either counts or gives back, never both');
    day = applyWindow(day, delta.day_start, delta.amount_minor, delta.count);
    week = applyWindow(week, delta.week_start, delta.amount_minor, delta.count);
    month = applyWindow(month, delta.month_start, delta.amount_minor, delta.count);
  }
  for (const window of [day, week, month]) {
    assert.ok(window.amount_minor >= 0 && window.count >= 0, 'counters never negative');
  }
  return { day, week, month };
}
