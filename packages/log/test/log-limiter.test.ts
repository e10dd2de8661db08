import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { logLimiter } from '../src/index.ts';

describe('logLimiter', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('allows the first call, suppresses the rest of the interval, and reports how many it suppressed', () => {
    const allow = logLimiter(1_000);
    expect(allow()).toBe(0);
    expect([allow(), allow(), allow()]).toEqual([undefined, undefined, undefined]);
    vi.advanceTimersByTime(999);
    expect(allow()).toBeUndefined();
    vi.advanceTimersByTime(1);
    expect(allow()).toBe(4);
    expect(allow()).toBeUndefined();
    vi.advanceTimersByTime(5_000);
    expect(allow()).toBe(1);
  });
});
