import { setTimeout as sleep } from 'node:timers/promises';

const day_ms = 86_400_000;
// Past midnight by this much before the test goes on: clocks of the services it talks to
// (Redis' TIME, PostgreSQL's now()) may trail ours a little.
const after_midnight_ms = 1_000;

// The time to wait before a test that needs `needed_ms` within one UTC day (its counters,
// limits and windows are per day, week or month, and every week and month starts at a UTC
// midnight): none, or until just past the next midnight when the test would span it.
export function waitForUtcDay(now_ms: number, needed_ms: number): number {
  if (!Number.isSafeInteger(needed_ms) || needed_ms <= 0 || needed_ms >= day_ms / 2)
    throw new RangeError(`needed_ms must be between 1 and ${day_ms / 2 - 1}, got ${needed_ms}`);
  const left_ms = day_ms - (now_ms % day_ms);
  return left_ms > needed_ms ? 0 : left_ms + after_midnight_ms;
}

// Sleeps (at most needed_ms and a second) so that the next needed_ms fall within one UTC day.
// The wait counts against the test's timeout: keep needed_ms well under it.
export async function clearOfUtcMidnight(needed_ms: number): Promise<void> {
  const wait_ms = waitForUtcDay(Date.now(), needed_ms);
  if (wait_ms > 0) await sleep(wait_ms);
}
