// Reconnect backoff shared by the single-node and the cluster client.
//
// Exponential growth from reconnect_base_delay_ms, capped at reconnect_max_delay_ms, with
// "equal jitter": the delay is uniform in [ceiling / 2, ceiling]. The lower half keeps a fleet
// of authorizers from reconnecting in lockstep after a Redis restart; the floor keeps a dead
// server from being hammered in a tight loop. The cap is small because the hot path's
// decision deadline is far under Marqeta's 3 s: once Redis is back, a client must notice
// within half a second. It never gives up (always returns a number): a process without Redis
// declines fast and must heal by itself when Redis returns, not need a restart.
export const reconnect_base_delay_ms = 50;
export const reconnect_max_delay_ms = 500;

// 2^4 * 50 = 800 > 500 already: larger exponents only risk overflow, never change the result.
const max_exponent = 4;

export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(Math.floor(attempt) - 1, 0), max_exponent);
  const ceiling = Math.min(reconnect_base_delay_ms * 2 ** exponent, reconnect_max_delay_ms);
  const half = ceiling / 2;
  // Math.random() is in [0, 1); a custom source is clamped so the bounds hold whatever it returns.
  const raw = random();
  const unit = Number.isFinite(raw) ? Math.min(Math.max(raw, 0), 1) : 0;
  return Math.round(half + unit * half);
}
