import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyCounterDeltas,
  civilFromDays,
  currentCounters,
  daysFromCivil,
  dayToIsoDate,
  isExpired,
  isoWeekday,
  windowStarts,
} from '../src/index.ts';

// Hard-coded vectors (computed once from Date.UTC, an independent implementation) so that the
// Lua port can be checked against the same numbers.
const vectors = [
  { at: '1970-01-01T00:00:00.000Z', ms: 0, day: 0, week: -3, month: 0 },
  // Leap day in a century leap year, and the day after.
  { at: '2000-02-29T00:00:00.000Z', ms: 11016 * 86_400_000, day: 11016, week: 11015, month: 10988 },
  { at: '2000-03-01T00:00:00.000Z', ms: 11017 * 86_400_000, day: 11017, week: 11015, month: 11017 },
  { at: '2024-02-29T12:00:00.000Z', ms: 1_709_208_000_000, day: 19782, week: 19779, month: 19754 },
  // Year end: the ISO week spans it, the month does not.
  { at: '2024-12-31T23:59:59.999Z', ms: 1_735_689_599_999, day: 20088, week: 20087, month: 20058 },
  { at: '2025-01-01T00:00:00.000Z', ms: 1_735_689_600_000, day: 20089, week: 20087, month: 20089 },
  // Sunday's last millisecond, then Monday: a new week.
  { at: '2024-03-10T23:59:59.999Z', ms: 1_710_115_199_999, day: 19792, week: 19786, month: 19783 },
  { at: '2024-03-11T00:00:00.000Z', ms: 1_710_115_200_000, day: 19793, week: 19793, month: 19783 },
  // A Sunday whose ISO week began in the previous year.
  { at: '2021-01-03T10:00:00.000Z', ms: 1_609_668_000_000, day: 18630, week: 18624, month: 18628 },
  // Past 2^31 seconds: no 32-bit arithmetic anywhere.
  { at: '2038-01-19T03:14:08.000Z', ms: 2_147_483_648_000, day: 24855, week: 24854, month: 24837 },
] as const;

describe('windowStarts', () => {
  it.each(vectors)('$at', ({ ms, day, week, month }) => {
    expect(windowStarts(ms)).toEqual({ day, week, month });
  });

  it('ISO dates of the vectors', () => {
    expect(vectors.map((v) => dayToIsoDate(v.day))).toEqual(vectors.map((v) => v.at.slice(0, 10)));
    expect(dayToIsoDate(-3)).toBe('1969-12-29');
    expect(dayToIsoDate(47_540)).toBe('2100-02-28');
    // 2100 is not a leap year.
    expect(dayToIsoDate(47_541)).toBe('2100-03-01');
  });

  it('weeks start on Monday and months on the 1st, for any instant (property, Date as oracle)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8_000_000_000_000 }), (ms) => {
        const starts = windowStarts(ms);
        const date = new Date(ms);
        expect(starts.day).toBe(Math.floor(ms / 86_400_000));
        expect(new Date(starts.week * 86_400_000).getUTCDay()).toBe(1);
        expect(starts.day - starts.week).toBe((date.getUTCDay() + 6) % 7);
        expect(starts.month * 86_400_000).toBe(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1));
      }),
    );
  });

  it('civilFromDays and daysFromCivil agree with Date.UTC and invert each other', () => {
    fc.assert(
      fc.property(fc.integer({ min: -719_468, max: 3_000_000 }), (days) => {
        const civil = civilFromDays(days);
        const date = new Date(days * 86_400_000);
        expect(civil).toEqual({
          year: date.getUTCFullYear(),
          month: date.getUTCMonth() + 1,
          day: date.getUTCDate(),
        });
        expect(daysFromCivil(civil.year, civil.month, civil.day)).toBe(days);
        expect(isoWeekday(days)).toBe((date.getUTCDay() + 6) % 7);
      }),
    );
  });
});

describe('isExpired', () => {
  it('valid through the last millisecond of the expiration month, UTC', () => {
    expect(isExpired(2024, 2, Date.parse('2024-02-29T23:59:59.999Z'))).toBe(false);
    expect(isExpired(2024, 2, Date.parse('2024-03-01T00:00:00.000Z'))).toBe(true);
    expect(isExpired(2024, 12, Date.parse('2024-12-31T23:59:59.999Z'))).toBe(false);
    expect(isExpired(2024, 12, Date.parse('2025-01-01T00:00:00.000Z'))).toBe(true);
    expect(isExpired(2030, 1, Date.parse('2025-06-15T00:00:00.000Z'))).toBe(false);
  });
});

describe('counters', () => {
  const monday = Date.parse('2024-03-11T09:00:00Z');
  const starts = windowStarts(monday);
  const stored = {
    day: { start: starts.day - 1, amount_minor: 500, count: 2 },
    week: { start: starts.week - 7, amount_minor: 900, count: 4 },
    month: { start: starts.month, amount_minor: 1200, count: 6 },
  };

  it('closed windows count from zero, open ones keep their totals', () => {
    expect(currentCounters(stored, monday)).toEqual({
      day: { start: starts.day, amount_minor: 0, count: 0 },
      week: { start: starts.week, amount_minor: 0, count: 0 },
      month: stored.month,
    });
    expect(currentCounters(undefined, monday).month).toEqual({
      start: starts.month,
      amount_minor: 0,
      count: 0,
    });
  });

  it('a stored window newer than the clock is kept (stricter than forgetting it)', () => {
    const ahead = { ...stored, day: { start: starts.day + 1, amount_minor: 70, count: 1 } };
    expect(currentCounters(ahead, monday).day).toEqual(ahead.day);
  });

  it('a give-back applies only to the window that counted it, never below zero', () => {
    const current = currentCounters(stored, monday);
    const entry = { day_start: starts.day, week_start: starts.week, month_start: starts.month };
    const counted = applyCounterDeltas(current, [{ ...entry, amount_minor: 300, count: 1 }]);
    expect(counted.day).toEqual({ start: starts.day, amount_minor: 300, count: 1 });
    expect(counted.month).toEqual({ start: starts.month, amount_minor: 1500, count: 7 });
    // Given back from yesterday's day window (closed) but this month's window (open).
    const older = { day_start: starts.day - 1, week_start: starts.week, month_start: starts.month };
    const back = applyCounterDeltas(counted, [{ ...older, amount_minor: -200, count: -1 }]);
    expect(back.day).toEqual(counted.day);
    expect(back.week).toEqual({ start: starts.week, amount_minor: 100, count: 0 });
    expect(back.month).toEqual({ start: starts.month, amount_minor: 1300, count: 6 });
    const floor = applyCounterDeltas(back, [{ ...entry, amount_minor: -10_000, count: -10 }]);
    expect(floor.day).toEqual({ start: starts.day, amount_minor: 0, count: 0 });
  });

  it('counting into a window older than the stored one is a bug', () => {
    const current = currentCounters(stored, monday);
    const stale = { day_start: starts.day - 1, week_start: starts.week, month_start: starts.month };
    expect(() => applyCounterDeltas(current, [{ ...stale, amount_minor: 1, count: 0 }])).toThrow(
      /closed window/,
    );
  });
});
