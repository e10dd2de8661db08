import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRetryAfterMs, type RetryOptions, retryDelayMs } from '../src/index.ts';

const options: RetryOptions = { max_attempts: 5, base_delay_ms: 100, max_delay_ms: 1_000, jitter: 'full' };

describe('retryDelayMs', () => {
  it('doubles the ceiling per failed attempt up to max_delay_ms (full jitter at its top)', () => {
    const top = () => 1;
    expect([1, 2, 3, 4, 5, 6].map((attempt) => retryDelayMs(options, attempt, top, undefined))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
    expect(retryDelayMs(options, 3, () => 0, undefined)).toBe(0);
  });

  it('keeps equal jitter in the upper half of the ceiling', () => {
    const equal = { ...options, jitter: 'equal' } as const;
    expect(retryDelayMs(equal, 3, () => 0, undefined)).toBe(200);
    expect(retryDelayMs(equal, 3, () => 0.5, undefined)).toBe(300);
  });

  it('waits at least Retry-After, never more than max_delay_ms, whatever the dice say', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.option(fc.integer({ min: 0, max: 10_000_000 }), { nil: undefined }),
        fc.constantFrom('full' as const, 'equal' as const),
        (attempt, roll, retry_after_ms, jitter) => {
          const delay = retryDelayMs({ ...options, jitter }, attempt, () => roll, retry_after_ms);
          const ceiling = Math.min(options.max_delay_ms, options.base_delay_ms * 2 ** (attempt - 1));
          expect(delay).toBeGreaterThanOrEqual(Math.min(retry_after_ms ?? 0, options.max_delay_ms));
          expect(delay).toBeLessThanOrEqual(
            Math.max(ceiling, Math.min(retry_after_ms ?? 0, options.max_delay_ms)),
          );
          expect(delay).toBeLessThanOrEqual(options.max_delay_ms);
        },
      ),
    );
  });
});

describe('parseRetryAfterMs', () => {
  const now_ms = Date.parse('2026-03-01T12:00:00Z');

  it('reads delay-seconds and HTTP dates, and ignores anything else', () => {
    expect(parseRetryAfterMs('7', now_ms)).toBe(7_000);
    expect(parseRetryAfterMs(' 0 ', now_ms)).toBe(0);
    expect(parseRetryAfterMs('Sun, 01 Mar 2026 12:00:30 GMT', now_ms)).toBe(30_000);
    expect(parseRetryAfterMs('Sun, 01 Mar 2026 11:00:00 GMT', now_ms)).toBe(0);
    expect(parseRetryAfterMs(['3', '9'], now_ms)).toBe(3_000);
    for (const garbage of [undefined, '', '-1', '1.5', 'soon', '99999999999']) {
      expect(parseRetryAfterMs(garbage, now_ms)).toBeUndefined();
    }
  });
});
