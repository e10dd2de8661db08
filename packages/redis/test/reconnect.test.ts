import { describe, expect, it } from 'vitest';
import { reconnect_base_delay_ms, reconnect_max_delay_ms, reconnectDelayMs } from '../src/index.ts';

// The retryStrategy handed to ioredis, tested as the pure function it is.
describe('reconnectDelayMs', () => {
  const lowest = () => 0;
  const highest = () => 1 - Number.EPSILON;

  it('grows exponentially from the base, with jitter in [ceiling / 2, ceiling]', () => {
    expect(reconnect_base_delay_ms).toBe(50);
    const ceilings = [50, 100, 200, 400, 500, 500];
    ceilings.forEach((ceiling, index) => {
      const attempt = index + 1;
      expect(reconnectDelayMs(attempt, lowest)).toBe(ceiling / 2);
      expect(reconnectDelayMs(attempt, highest)).toBe(ceiling);
      expect(reconnectDelayMs(attempt, () => 0.5)).toBe(Math.round((ceiling * 3) / 4));
    });
  });

  it('never exceeds 500 ms and never gives up, over many attempts and any random source', () => {
    expect(reconnect_max_delay_ms).toBe(500);
    const sources = [lowest, highest, Math.random, () => 7, () => -3, () => Number.NaN];
    for (let attempt = 0; attempt <= 100_000; attempt += attempt < 100 ? 1 : 997) {
      for (const random of sources) {
        const delay = reconnectDelayMs(attempt, random);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(25);
        expect(delay).toBeLessThanOrEqual(500);
      }
    }
    expect(reconnectDelayMs(Number.MAX_SAFE_INTEGER, highest)).toBe(500);
    expect(reconnectDelayMs(Number.POSITIVE_INFINITY, lowest)).toBe(250);
  });

  it('spreads delays once capped: jitter keeps a fleet from reconnecting in lockstep', () => {
    const delays = new Set<number>();
    for (let i = 0; i < 200; i += 1) delays.add(reconnectDelayMs(50));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(250);
    expect(Math.max(...delays)).toBeLessThanOrEqual(500);
    // 200 draws over 251 values: many distinct ones unless the jitter is broken.
    expect(delays.size).toBeGreaterThan(50);
  });
});
