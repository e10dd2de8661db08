import type { RedisClient } from '@afc/redis';
import { createTestRedisPrefix } from '@afc/testkit';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CardStateStore } from '../src/index.ts';
import {
  authorization,
  business_card,
  captureLogger,
  closeClients,
  declinedBy,
  freshCard,
  informative,
  seed,
  sharedRedis,
  storeOn,
} from './helpers.ts';

const prefix = createTestRedisPrefix();
let redis: RedisClient;
let coalescing: CardStateStore;
let plain: CardStateStore;

beforeAll(async () => {
  redis = await sharedRedis(prefix.prefix);
  coalescing = await storeOn(redis, 'counters_unchanged', captureLogger().logger, true);
  plain = await storeOn(redis);
});

afterAll(async () => {
  await closeClients([redis]);
  await prefix.cleanup();
});

// Whether the client's socket holds this turn's writes back until its end.
const corked = () => (redis as Redis).stream.writableCorked > 0;

describe('coalesce_turn_writes', () => {
  it('holds decide, apply and release writes to the end of the turn, and each still answers', async () => {
    const card = freshCard(business_card);
    await seed(coalescing, { card });
    const request = authorization(card);
    const decided = coalescing.decide(request);
    expect(corked()).toBe(true);
    expect(await decided).toMatchObject({ status: 'decided', outcome: 'approve' });
    expect(corked()).toBe(false);
    const applied = coalescing.apply(
      informative(card, 'reversal', { original_jit_token: request.jit_token }),
    );
    expect(corked()).toBe(true);
    await applied;
    const released = coalescing.releaseAfterTimeout(declinedBy('timeout', request));
    expect(corked()).toBe(true);
    expect(await released).toMatchObject({ status: 'released' });
  });

  it('leaves the socket alone by default', async () => {
    const card = freshCard(business_card);
    await seed(plain, { card });
    const decided = plain.decide(authorization(card));
    expect(corked()).toBe(false);
    expect(await decided).toMatchObject({ status: 'decided', outcome: 'approve' });
  });
});
