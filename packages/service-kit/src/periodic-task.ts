import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@afc/log';

export interface PeriodicTaskOptions {
  // Log event of a failed run: `<name>_failed`.
  readonly name: string;
  readonly interval_ms: number;
  // Each wait is interval_ms ± this share: processes started together drift apart.
  readonly jitter_ratio: number;
  readonly logger: Logger;
  // One run. `again`: it stopped at its bound with work left, so the next run starts at once
  // (each run is bounded by its own batch, so a backlog drains without waiting an interval).
  // `stopping` tells a long run to end after the item it is on.
  readonly run: (stopping: () => boolean) => Promise<{ readonly again: boolean }>;
}

export interface PeriodicTask {
  // Stops scheduling and waits for a run in progress, at most timeout_ms (a run past it is left
  // to finish on its own: it was told `stopping`).
  stop(timeout_ms: number): Promise<void>;
}

// Background work on an interval, one run at a time, never overlapping; a failed run is logged
// and the next one comes after the usual interval.
export function startPeriodicTask(options: PeriodicTaskOptions): PeriodicTask {
  assert.ok(options.interval_ms > 0, 'interval_ms > 0');
  assert.ok(options.jitter_ratio >= 0 && options.jitter_ratio < 1, 'jitter_ratio in [0, 1)');
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const jittered = () =>
    Math.round(options.interval_ms * (1 - options.jitter_ratio + Math.random() * 2 * options.jitter_ratio));
  const schedule = (delay_ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = once().finally(() => {
        running = undefined;
      });
    }, delay_ms);
    timer.unref();
  };
  const once = async () => {
    let again = false;
    try {
      ({ again } = await options.run(() => stopped));
    } catch (error) {
      options.logger.warn({ event: `${options.name}_failed`, err: error }, `${options.name} failed`);
    }
    schedule(again ? 0 : jittered());
  };
  schedule(jittered());
  return {
    async stop(timeout_ms) {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      if (running === undefined) return;
      await Promise.race([running, sleep(timeout_ms, undefined, { ref: false })]);
    },
  };
}
