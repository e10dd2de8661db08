import { exchange_names } from '@afc/amqp';
import { createLogger } from '@afc/log';
import { closeRedis, duplicateRedis, outboxKey, type RedisClient } from '@afc/redis';
import { waitUntil } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxRelay } from '../src/outbox/outbox-relay.ts';
import { type Harness, jitBody, postJit, startAuthorizer } from './harness.ts';
import { seedBusinessCard } from './seed.ts';

let h: Harness;
let redis: RedisClient;
const logger = createLogger({ name: 'outbox-claim-test', level: 'silent' });

beforeAll(async () => {
  h = await startAuthorizer();
  redis = duplicateRedis(h.app.redis, logger, 'outbox-claim-test');
});
afterAll(async () => {
  await closeRedis(redis, 2_000);
  await h.close();
});

describe('outbox relay and a relay that died mid-round', () => {
  it('claims the entries the dead relay read and never acknowledged, publishes and deletes them', async () => {
    // The service's own relay stops: only the dead one and its heir read the streams.
    await h.app.authorizer.relay.stop(5_000);
    const stream_keys = Array.from({ length: h.config.REDIS_PARTITIONS }, (_unused, p) => outboxKey(p));
    const card = await seedBusinessCard(h.app.postgres.sql);
    expect((await postJit(h.app, jitBody(card))).statusCode).toBe(200);
    let read = 0;
    for (const key of stream_keys) {
      const reply = (await redis.xreadgroup(
        'GROUP',
        'outbox-relay',
        'dead-relay',
        'COUNT',
        100,
        'STREAMS',
        key,
        '>',
      )) as [string, unknown[]][] | null;
      read += reply?.[0]?.[1].length ?? 0;
    }
    expect(read).toBe(1);
    const heir = new OutboxRelay({
      redis,
      amqp: h.app.amqp,
      logger,
      stream_keys,
      exchange: exchange_names.transactions,
      group: 'outbox-relay',
      consumer: 'heir',
      batch_size: 100,
      idle_min_ms: 5,
      idle_max_ms: 20,
      // Its first look finds the entry too young; it looks again claim_idle_ms / 4 later.
      claim_idle_ms: 300,
      publish_timeout_ms: 5_000,
      failure_backoff_max_ms: 200,
      dead_max_entries: 10,
    });
    heir.start();
    try {
      await waitUntil(() => heir.published_count === 1, { message: 'the heir publishes the claimed entry' });
      await waitUntil(async () => (await heir.backlog()) === 0, { message: 'and deletes it' });
    } finally {
      await heir.stop(5_000);
    }
  });

  it('acknowledges and deletes a round of thousands of entries of one partition (one script, in slices)', async () => {
    const key = outboxKey(3);
    // Past what one Lua unpack takes (about 8,000 values): the script must slice.
    const entries = 8_200;
    for (let start = 0; start < entries; start += 820) {
      const batch = redis.pipeline();
      for (let i = start; i < start + 820; i += 1) {
        const event = `{"event_id":"bulk-${process.pid}-${i}:authorization.approved","type":"authorization.approved","n":${i}}`;
        batch.xadd(key, '*', 'event', event);
      }
      await batch.exec();
    }
    const bulk = new OutboxRelay({
      redis,
      amqp: h.app.amqp,
      logger,
      stream_keys: [key],
      exchange: exchange_names.transactions,
      group: 'outbox-relay',
      consumer: 'bulk',
      batch_size: 9_000,
      idle_min_ms: 5,
      idle_max_ms: 20,
      claim_idle_ms: 30_000,
      publish_timeout_ms: 10_000,
      failure_backoff_max_ms: 200,
      dead_max_entries: 10,
    });
    bulk.start();
    try {
      await waitUntil(() => bulk.published_count === entries, {
        timeout_ms: 60_000,
        message: 'one round publishes and acknowledges them all',
      });
      expect(await redis.xlen(key)).toBe(0);
      const pending = (await redis.xpending(key, 'outbox-relay')) as [number, ...unknown[]];
      expect(pending[0]).toBe(0);
    } finally {
      await bulk.stop(5_000);
    }
  }, 90_000);
});
