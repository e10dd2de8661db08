import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitUntilOptions {
  readonly timeout_ms?: number;
  readonly interval_ms?: number;
  readonly message?: string;
}

// Polls a condition until it holds. Tests wait for outcomes, never for fixed durations;
// the timeout only bounds a test that would otherwise hang.
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  options: WaitUntilOptions = {},
): Promise<void> {
  const timeout_ms = options.timeout_ms ?? 15_000;
  const interval_ms = options.interval_ms ?? 20;
  const deadline = Date.now() + timeout_ms;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`waitUntil: ${options.message ?? 'condition'} did not hold within ${timeout_ms} ms`);
    }
    await sleep(interval_ms);
  }
}
