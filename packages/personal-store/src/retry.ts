import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryOptions {
  readonly max_attempts: number;
  readonly base_delay_ms: number;
  readonly max_delay_ms: number;
}

export const default_retry: RetryOptions = { max_attempts: 12, base_delay_ms: 5, max_delay_ms: 400 };

// Full jitter (a random delay up to an exponentially growing cap): contending writers spread
// out instead of colliding again in lockstep.
export function backoffDelay(attempt: number, options: RetryOptions): number {
  const cap = Math.min(options.max_delay_ms, options.base_delay_ms * 2 ** attempt);
  return Math.floor(Math.random() * cap);
}

// Runs `work` until it succeeds, `retryable` says no, or the attempts are spent; the last
// error is thrown as it was.
export async function withRetry<T>(
  work: (attempt: number) => Promise<T>,
  retryable: (error: unknown) => boolean,
  options: RetryOptions = default_retry,
): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await work(attempt);
    } catch (error) {
      if (attempt + 1 >= options.max_attempts || !retryable(error)) throw error;
      await sleep(backoffDelay(attempt, options));
    }
  }
}
