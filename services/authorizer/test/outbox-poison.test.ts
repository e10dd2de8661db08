import { exchange_names } from '@afc/amqp';
import { createLogger } from '@afc/log';
import { outboxKey } from '@afc/redis';
import { localServiceUrls, waitUntil } from '@afc/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxRelay } from '../src/outbox/outbox-relay.ts';
import { type Harness, jitBody, postJit, startAuthorizer } from './harness.ts';
import { metricValue } from './metric-value.ts';
import { seedBusinessCard } from './seed.ts';

let h: Harness;
let redis: Redis;

beforeAll(async () => {
  h = await startAuthorizer();
  redis = new Redis(localServiceUrls.redis, { keyPrefix: h.redis_prefix.prefix, maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  redis.disconnect();
  await h.close();
});

// The fields of a dead entry: the outbox entry's id and its fields, as JSON.
function deadFields(entry: [string, string[]] | undefined): { id: string; fields: string[] } {
  const fields = entry?.[1] ?? [];
  return { id: fields[1] ?? '', fields: JSON.parse(fields[3] ?? 'null') as string[] };
}

async function scrape(): Promise<string> {
  return (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
}

describe('outbox relay and an unreadable entry', () => {
  it('moves it to the dead stream, counts it, and keeps moving the others', async () => {
    const relay = h.app.authorizer.relay;
    const id = await redis.xadd('{5}:outbox', '*', 'event', 'not json');
    // Moved, acknowledged and deleted in one script: both ends change together.
    await waitUntil(
      async () => (await redis.xlen('{5}:outbox:dead')) === 1 && (await redis.xlen('{5}:outbox')) === 0,
      { message: 'the unreadable entry leaves the outbox for the dead stream' },
    );
    const [dead] = await redis.xrange('{5}:outbox:dead', '-', '+');
    expect(deadFields(dead)).toEqual({ id, fields: ['event', 'not json'] });
    expect(await redis.xpending('{5}:outbox', 'outbox-relay')).toEqual([0, null, null, null]);
    expect(metricValue(await scrape(), 'afc_outbox_dead_entries', {})).toBe(1);
    const published_before = relay.published_count;
    const card = await seedBusinessCard(h.app.postgres.sql);
    expect((await postJit(h.app, jitBody(card))).statusCode).toBe(200);
    await waitUntil(() => relay.published_count > published_before, { message: 'later events still flow' });
    await waitUntil(async () => (await relay.backlog()) === 0, { message: 'the backlog drains' });
  });

  it('leaves an unreadable entry in the outbox while the dead stream is full, and moves it once there is room', async () => {
    // Only the bounded relay below reads the streams.
    await h.app.authorizer.relay.stop(5_000);
    const bounded = new OutboxRelay({
      redis: h.app.redis,
      amqp: h.app.amqp,
      logger: createLogger({ name: 'outbox-poison-test', level: 'silent' }),
      stream_keys: Array.from({ length: h.config.REDIS_PARTITIONS }, (_unused, p) => outboxKey(p)),
      exchange: exchange_names.transactions,
      group: 'outbox-relay',
      consumer: 'bounded',
      batch_size: 100,
      idle_min_ms: 5,
      idle_max_ms: 20,
      claim_idle_ms: 60_000,
      publish_timeout_ms: 5_000,
      failure_backoff_max_ms: 200,
      dead_max_entries: 1,
    });
    const first = await redis.xadd('{7}:outbox', '*', 'event', 'first unreadable');
    const second = await redis.xadd('{7}:outbox', '*', 'event', 'second unreadable');
    const dead_before = (await bounded.lengths()).dead;
    bounded.start();
    await waitUntil(async () => (await redis.xlen('{7}:outbox:dead')) === 1, {
      message: 'the first unreadable entry fills the dead stream',
    });
    // Stopping waits for the round in flight: the second entry has had its turn.
    await bounded.stop(5_000);
    const [dead] = await redis.xrange('{7}:outbox:dead', '-', '+');
    expect(deadFields(dead).id).toBe(first);
    expect((await redis.xrange('{7}:outbox', '-', '+')).map(([entry_id]) => entry_id)).toEqual([second]);
    expect((await redis.xpending('{7}:outbox', 'outbox-relay'))[0]).toBe(1);
    expect(await bounded.lengths()).toEqual({ total: 1, fullest_partition: 1, dead: dead_before + 1 });
    const metrics = await scrape();
    expect(metricValue(metrics, 'afc_outbox_dead_entries', {})).toBe(dead_before + 1);
    expect(metricValue(metrics, 'afc_outbox_fullest_partition_events', {})).toBe(1);
    expect(metricValue(metrics, 'afc_outbox_backlog', {})).toBe(1);
    expect(metricValue(metrics, 'afc_outbox_max_events_per_partition', {})).toBe(
      h.config.OUTBOX_MAX_EVENTS_PER_PARTITION,
    );
    // An operator has read the dead entry and removed it: the relay, started again, reads its
    // own pending entries first and moves the second one.
    await redis.xdel('{7}:outbox:dead', dead?.[0] ?? '');
    bounded.start();
    try {
      await waitUntil(async () => (await redis.xlen('{7}:outbox')) === 0, {
        message: 'the second unreadable entry moves once there is room',
      });
      const [moved] = await redis.xrange('{7}:outbox:dead', '-', '+');
      expect(deadFields(moved)).toEqual({ id: second, fields: ['event', 'second unreadable'] });
    } finally {
      await bounded.stop(5_000);
      h.app.authorizer.relay.start();
    }
  });
});
