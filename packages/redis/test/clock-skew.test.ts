import { uniqueTestId } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clockSkewOf, type RedisClient, readClockSkew } from '../src/index.ts';
import { closeAll, readyClient } from './helpers.ts';

describe('clockSkewOf', () => {
  it('puts the server reading at the middle of the round trip', () => {
    // Sent at 1000 ms, answered 10 ms later; the server read 1.012345 s.
    const reading = clockSkewOf(1_000, ['1', '12345'], 10);
    expect(reading.skew_ms).toBeCloseTo(7.345, 9);
    expect(reading.uncertainty_ms).toBe(5);
    // A server behind our clock gives a negative skew.
    expect(clockSkewOf(1_700_000_000_500, ['1700000000', '0'], 0)).toEqual({
      skew_ms: -500,
      uncertainty_ms: 0,
    });
  });

  it('asserts on a reply that is not TIME', () => {
    expect(() => clockSkewOf(0, ['1.5', '0'], 1)).toThrow(/whole seconds/);
    expect(() => clockSkewOf(0, ['1'], 1)).toThrow(/microseconds/);
    expect(() => clockSkewOf(2, ['1', '0'], -1)).toThrow(/no negative time/);
  });
});

describe('readClockSkew against the real Redis', () => {
  let client: RedisClient;

  beforeAll(async () => {
    client = await readyClient(`${uniqueTestId('clock')}:`);
  });

  afterAll(async () => {
    await closeAll([client]);
  });

  it('reads no skew between two clocks of one machine, within the round trip', async () => {
    const [reading, ...others] = await readClockSkew(client);
    expect(others).toEqual([]);
    expect(reading?.node).toMatch(/:\d+$/);
    // Date.now() has whole milliseconds: up to 1 ms more either way.
    expect(Math.abs(reading?.skew_ms ?? Number.NaN)).toBeLessThanOrEqual((reading?.uncertainty_ms ?? 0) + 1);
  });

  it('sees a local clock 5 s fast as a Redis clock 5 s behind', async () => {
    const [reading] = await readClockSkew(client, () => Date.now() + 5_000);
    expect(reading?.skew_ms).toBeGreaterThanOrEqual(-5_001 - (reading?.uncertainty_ms ?? 0));
    expect(reading?.skew_ms).toBeLessThanOrEqual(-4_999 + (reading?.uncertainty_ms ?? 0));
  });
});
