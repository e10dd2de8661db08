import { createLogger } from '@afc/log';
import { closeRedis, createRedis, type RedisClient, waitReady } from '@afc/redis';
import { captureLogs, localServiceUrls, uniqueTestId } from '@afc/testkit';
import { Gauge, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRedisClock } from '../src/jit/redis-clock-check.ts';
import { metricValue } from './metric-value.ts';

describe('checkRedisClock against the real Redis', () => {
  let redis: RedisClient;

  beforeAll(async () => {
    const logger = createLogger({ name: 'clock-test', level: 'silent' });
    redis = createRedis(
      {
        url: localServiceUrls.redis,
        key_prefix: `${uniqueTestId('clock')}:`,
        command_timeout_ms: 2_000,
        connect_timeout_ms: 2_000,
        max_retries_per_request: 1,
      },
      logger,
    );
    await waitReady(redis, 10_000);
  });

  afterAll(async () => {
    await closeRedis(redis, 2_000);
  });

  async function check(offset_ms: number) {
    const logs = captureLogs();
    const logger = createLogger({ name: 'clock-test', level: 'info', destination: logs.destination });
    const registry = new Registry();
    const gauge = new Gauge({
      name: 'skew_seconds',
      help: 'test',
      labelNames: ['node'],
      registers: [registry],
    });
    const readings = await checkRedisClock({
      redis,
      logger,
      gauge,
      skew_max_ms: 100,
      now: () => Date.now() + offset_ms,
    });
    const [reading] = readings;
    if (reading === undefined) throw new Error('no reading');
    const text = await registry.metrics();
    const errors = logs.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    return { reading, gauge_s: metricValue(text, 'skew_seconds', { node: reading.node }), errors };
  }

  it('publishes the skew of clocks that agree and logs nothing', async () => {
    const { reading, gauge_s, errors } = await check(0);
    expect(gauge_s).toBeCloseTo(reading.skew_ms / 1_000, 9);
    expect(Math.abs(reading.skew_ms)).toBeLessThanOrEqual(reading.uncertainty_ms + 1);
    expect(errors).toEqual([]);
  });

  it('logs an error naming the node and the skew when our clock is 2 s fast (Redis behind)', async () => {
    const { reading, gauge_s, errors } = await check(2_000);
    // Our clock read 2 s ahead: the skew is -2 s give or take the round trip.
    expect(Math.abs(reading.skew_ms + 2_000)).toBeLessThanOrEqual(reading.uncertainty_ms + 1);
    expect(gauge_s).toBeCloseTo(reading.skew_ms / 1_000, 9);
    expect(errors).toEqual([
      expect.objectContaining({
        level: 'error',
        event: 'redis_clock_skew',
        node: reading.node,
        skew_max_ms: 100,
        msg: expect.stringMatching(/Redis clock behind ours/),
      }),
    ]);
    expect(errors[0]?.['skew_ms']).toBe(Math.round(reading.skew_ms));
  });

  it('logs when Redis is ahead too', async () => {
    const { errors } = await check(-2_000);
    expect(errors).toEqual([
      expect.objectContaining({ msg: expect.stringMatching(/Redis clock ahead of ours/) }),
    ]);
  });
});
