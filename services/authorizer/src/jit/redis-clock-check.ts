import type { Logger } from '@afc/log';
import { type NodeClockSkew, type RedisClient, readClockSkew } from '@afc/redis';
import { type PeriodicTask, startPeriodicTask } from '@afc/service-kit';
import type { Gauge } from 'prom-client';

export interface RedisClockCheckOptions {
  readonly redis: RedisClient;
  readonly logger: Logger;
  readonly gauge: Gauge<'node'>;
  readonly skew_max_ms: number;
  // Our clock; a test sets it off to stand for a Redis clock that is off.
  readonly now?: () => number;
}

// decide.lua compares the decision deadline, set by our clock, with the Redis server's clock:
// a Redis clock behind ours lets a script queued past our timeout answer still approve (the
// release by JIT token then undoes it), one ahead declines a little early. Both clocks are
// meant to follow NTP; this makes a drift visible instead of assumed away. Only a skew beyond
// what the round trip can explain is reported.
export async function checkRedisClock(options: RedisClockCheckOptions): Promise<readonly NodeClockSkew[]> {
  const readings = await readClockSkew(options.redis, options.now);
  // Only the masters of this reading: one gone after a failover must not show its last value.
  options.gauge.reset();
  for (const reading of readings) {
    options.gauge.set({ node: reading.node }, reading.skew_ms / 1_000);
    if (Math.abs(reading.skew_ms) - reading.uncertainty_ms <= options.skew_max_ms) continue;
    options.logger.error(
      {
        event: 'redis_clock_skew',
        node: reading.node,
        skew_ms: Math.round(reading.skew_ms),
        uncertainty_ms: Math.ceil(reading.uncertainty_ms),
        skew_max_ms: options.skew_max_ms,
      },
      reading.skew_ms > 0
        ? 'Redis clock ahead of ours: decisions are declined before their deadline'
        : 'Redis clock behind ours: a script run after our timeout answer can still approve (the release undoes it)',
    );
  }
  return readings;
}

// Once at start, so a host with a wrong clock shows before traffic does (a failed read does
// not hold the start), then every interval_ms.
export async function startRedisClockCheck(
  options: RedisClockCheckOptions & { readonly interval_ms: number },
): Promise<PeriodicTask> {
  await checkRedisClock(options).catch((err: unknown) =>
    options.logger.warn({ err, event: 'redis_clock_check_failed' }, 'redis clock check failed'),
  );
  return startPeriodicTask({
    name: 'redis_clock_check',
    interval_ms: options.interval_ms,
    jitter_ratio: 0.1,
    logger: options.logger,
    run: async () => {
      await checkRedisClock(options);
      return { again: false };
    },
  });
}
