import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';

// Wakes every waiter when something they may be waiting for changed (a channel attached, a
// confirm freed room, the socket drained). Waiters re-check their own condition, so a wake-up
// that was not for them costs one check. Waiters are woken in arrival order, which keeps
// waiting for room roughly first come, first served.
export class ChangeSignal {
  readonly #waiters = new Set<() => void>();

  // Resolves true when notified, false once `deadline` (epoch ms) has passed.
  wait(deadline: number): Promise<boolean> {
    const remaining_ms = deadline - Date.now();
    if (remaining_ms <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        resolve(false);
      }, remaining_ms);
      this.#waiters.add(wake);
    });
  }

  notify(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}

// Bounds a promise we cannot cancel. `onLate` receives its value if it settles after the
// timeout, so a resource (a connection) that arrives late is released, not leaked.
export async function withTimeout<T>(
  promise: Promise<T>,
  timeout_ms: number,
  makeError: () => Error,
  onLate?: (value: T) => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let timed_out = false;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      timed_out = true;
      reject(makeError());
    }, timeout_ms);
  });
  promise.then(
    (value) => {
      if (timed_out) onLate?.(value);
    },
    () => {},
  );
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface BackoffOptions {
  readonly initial_delay_ms: number;
  readonly max_delay_ms: number;
}

// Exponential, capped, with "equal jitter": between half and all of the exponential delay, so
// clients that lost the broker together do not come back in step, yet the delay still grows.
export function backoffDelay(failures: number, options: BackoffOptions, random = Math.random): number {
  assert.ok(failures >= 1);
  const exponent = Math.min(failures - 1, 30);
  const ceiling = Math.min(options.max_delay_ms, options.initial_delay_ms * 2 ** exponent);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

// Resolves after `ms`, or early (without throwing) when `signal` aborts.
export async function interruptibleSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  try {
    await delay(ms, undefined, { signal });
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

// Waits for every promise in a live set (it may grow while we wait) until the deadline.
// Returns how many were still pending at the end.
export async function drainSet(set: ReadonlySet<Promise<unknown>>, deadline: number): Promise<number> {
  const signal = new ChangeSignal();
  while (set.size > 0) {
    const settled = Promise.allSettled([...set]).then(() => signal.notify());
    void settled;
    if (!(await signal.wait(deadline))) return set.size;
  }
  return 0;
}
