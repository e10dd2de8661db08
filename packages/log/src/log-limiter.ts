// Allows one call per interval; returns how many calls were suppressed since the last allowed
// one, or undefined while suppressing. For lines an outage would repeat for every request or
// every retry: the first is logged at once, the rest are counted into the next one
// (`{ suppressed }`), so the log stays readable and its cost bounded while the event loop
// still has decisions to answer.
export function logLimiter(interval_ms: number): () => number | undefined {
  let last_ms = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return () => {
    const now_ms = performance.now();
    if (now_ms - last_ms < interval_ms) {
      suppressed += 1;
      return undefined;
    }
    last_ms = now_ms;
    const count = suppressed;
    suppressed = 0;
    return count;
  };
}
