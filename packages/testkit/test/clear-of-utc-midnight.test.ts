import { describe, expect, it } from 'vitest';
import { waitForUtcDay } from '../src/index.ts';

const midnight_ms = Date.parse('2026-11-23T00:00:00Z');

describe('waitForUtcDay', () => {
  it('waits only when the time needed would span a UTC midnight, until just past it', () => {
    expect(waitForUtcDay(Date.parse('2026-11-22T12:00:00Z'), 60_000)).toBe(0);
    expect(waitForUtcDay(midnight_ms - 60_001, 60_000)).toBe(0);
    expect(waitForUtcDay(midnight_ms - 60_000, 60_000)).toBe(61_000);
    expect(waitForUtcDay(midnight_ms - 1, 60_000)).toBe(1_001);
    // At midnight a whole day lies ahead.
    expect(waitForUtcDay(midnight_ms, 60_000)).toBe(0);
  });

  it('refuses a need it could not meet within one day', () => {
    expect(() => waitForUtcDay(midnight_ms, 0)).toThrow(RangeError);
    expect(() => waitForUtcDay(midnight_ms, 43_200_000)).toThrow(RangeError);
    expect(() => waitForUtcDay(midnight_ms, 1.5)).toThrow(RangeError);
  });
});
