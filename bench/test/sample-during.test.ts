import { setTimeout as sleep } from 'node:timers/promises';
import { waitUntil } from '@afc/testkit';
import { describe, expect, it } from 'vitest';
import { sampleDuring } from '../src/sample-during.ts';

describe('sampleDuring', () => {
  it('samples while the work runs, counts failed samples, and stops with the work', async () => {
    let calls = 0;
    const sample = async () => {
      calls += 1;
      if (calls === 2) throw new Error('scrape failed');
      return calls;
    };
    // The work ends once three samples were taken, not after a time: a stalled event loop on
    // a busy machine then only makes the test slower.
    const work = () => waitUntil(() => calls >= 3, { message: 'three samples' }).then(() => 'done');
    const sampled = await sampleDuring(work, sample, 20);
    expect(sampled.result).toBe('done');
    expect(sampled.samples.length).toBeGreaterThanOrEqual(2);
    expect(sampled.sample_failures).toBe(1);
    expect(sampled.samples.length + sampled.sample_failures).toBe(calls);
    const after = calls;
    await sleep(100);
    expect(calls).toBe(after);
  });

  it('stops sampling when the work throws, so the process can exit', async () => {
    let calls = 0;
    const sample = async () => ++calls;
    const failing = sleep(50).then(() => Promise.reject(new Error('load run failed')));
    await expect(sampleDuring(() => failing, sample, 10)).rejects.toThrow('load run failed');
    const after = calls;
    await sleep(100);
    expect(calls).toBe(after);
  });
});
