import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../src/index.ts';

describe('backoffDelay', () => {
  const options = { initial_delay_ms: 100, max_delay_ms: 1_000 };

  it('doubles per failure up to the cap, with jitter between half and all of it', () => {
    const lowest = [1, 2, 3, 4, 5, 40].map((failures) => backoffDelay(failures, options, () => 0));
    const highest = [1, 2, 3, 4, 5, 40].map((failures) => backoffDelay(failures, options, () => 1));
    expect(lowest).toEqual([50, 100, 200, 400, 500, 500]);
    expect(highest).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });
});
