import { describe, expect, it } from 'vitest';
import { backoffDelay, withRetry } from '../src/retry.ts';

const quick = { max_attempts: 4, base_delay_ms: 1, max_delay_ms: 2 };

describe('withRetry', () => {
  it('stops at its bound and throws the last error as it was', async () => {
    let calls = 0;
    const failure = new Error('still conflicting');
    await expect(
      withRetry(
        async () => {
          calls += 1;
          throw failure;
        },
        () => true,
        quick,
      ),
    ).rejects.toBe(failure);
    expect(calls).toBe(4);
  });

  it('does not retry what is not retryable, and returns the first success', async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls += 1;
          throw new Error('final');
        },
        () => false,
        quick,
      ),
    ).rejects.toThrow('final');
    expect(calls).toBe(1);
    expect(
      await withRetry(
        async (attempt) => (attempt < 2 ? Promise.reject(new Error('x')) : attempt),
        () => true,
        quick,
      ),
    ).toBe(2);
  });

  it('keeps every delay under its growing cap', () => {
    const options = { max_attempts: 20, base_delay_ms: 5, max_delay_ms: 400 };
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const cap = Math.min(400, 5 * 2 ** attempt);
      for (let sample = 0; sample < 50; sample += 1) {
        const delay = backoffDelay(attempt, options);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(cap);
      }
    }
  });
});
