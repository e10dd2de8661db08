import { localServiceUrls, waitUntil } from '@afc/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, jitBody, postJit, startAuthorizer } from './harness.ts';
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

describe('outbox relay and an unreadable entry', () => {
  it('moves it to the dead stream and keeps moving the others', async () => {
    const relay = h.app.authorizer.relay;
    await redis.xadd('{5}:outbox', '*', 'event', 'not json');
    // Moved, then acknowledged and deleted: wait for both ends of the move.
    await waitUntil(
      async () => (await redis.xlen('{5}:outbox:dead')) === 1 && (await redis.xlen('{5}:outbox')) === 0,
      { message: 'the unreadable entry leaves the outbox for the dead stream' },
    );
    const [dead] = await redis.xrange('{5}:outbox:dead', '-', '+');
    expect(dead?.[1]).toContain('not json');
    const published_before = relay.published_count;
    const card = await seedBusinessCard(h.app.postgres.sql);
    expect((await postJit(h.app, jitBody(card))).statusCode).toBe(200);
    await waitUntil(() => relay.published_count > published_before, { message: 'later events still flow' });
    await waitUntil(async () => (await relay.backlog()) === 0, { message: 'the backlog drains' });
  });
});
