import { PostgresTimeoutError } from './errors.ts';

export interface BackoffOptions {
  readonly base_delay_ms: number;
  readonly max_delay_ms: number;
}

// Delay before retry number `retry` (1-based): base, 2×base, 4×base … capped, with equal jitter
// (half fixed so the wait still grows, half random so services restarted together spread out).
export function backoffDelay(
  retry: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const nominal = Math.min(options.max_delay_ms, options.base_delay_ms * 2 ** Math.max(0, retry - 1));
  return Math.round(nominal / 2 + (random() * nominal) / 2);
}

// Settles with the promise, or rejects with a coded timeout once timeout_ms has passed. The
// promise itself keeps running: the caller decides how to abandon it.
export async function withTimeout<T>(promise: PromiseLike<T>, timeout_ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new PostgresTimeoutError(`${what} timed out after ${timeout_ms} ms`)),
      timeout_ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
