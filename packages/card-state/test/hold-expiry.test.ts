import type { RedisClient } from '@afc/redis';
import { createTestRedisPrefix } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CardStateReplyError,
  type CardStateStore,
  defineHoldScripts,
  type HoldScripts,
  userStateKeys,
} from '../src/index.ts';
import {
  authorization,
  business_card,
  closeClients,
  freshCard,
  informative,
  partitions,
  personal_card,
  seed,
  sharedRedis,
  storeOn,
} from './helpers.ts';

const prefix = createTestRedisPrefix();
let redis: RedisClient;
let store: CardStateStore;
let holds: HoldScripts;

beforeAll(async () => {
  redis = await sharedRedis(prefix.prefix);
  store = await storeOn(redis);
  holds = await defineHoldScripts(redis, partitions);
});

afterAll(async () => {
  await closeClients([redis]);
  await prefix.cleanup();
});

describe('expire_hold.lua', () => {
  it('releases what a business hold still holds (counters given back) once, answering the same movement after', async () => {
    const card = freshCard(business_card);
    await seed(store, { card });
    const request = authorization(card, { amount_minor: 4_000 });
    expect(await store.decide(request)).toMatchObject({ outcome: 'approve' });
    expect(
      await store.apply(
        informative(card, 'clearing', { amount_minor: 1_500, original_jit_token: request.jit_token }),
      ),
    ).toMatchObject({ status: 'applied' });
    const counted = (await store.readState(card.user_token, card.card_token)).counters;
    expect(counted?.day).toMatchObject({ amount_minor: 4_000, count: 1 });
    const first = await holds.expireHold(card.user_token, card.card_token, request.jit_token);
    expect(first).toMatchObject({
      first: true,
      movement: { action: 'released', program: 'business', released_minor: 2_500, captured_minor: 0 },
    });
    expect(first.movement.counter_deltas.map((d) => [d.amount_minor, d.count])).toEqual([[-2_500, 0]]);
    const after = await store.readState(card.user_token, card.card_token);
    expect(after.counters?.day).toMatchObject({ amount_minor: 1_500, count: 1 });
    expect(await store.readHold(card.user_token, request.jit_token)).toMatchObject({
      amount_minor: 0,
      released_minor: 2_500,
      captured_minor: 1_500,
    });
    // The marker keeps the name it had before the key schema named it: markers of runs made
    // before a deploy still answer.
    const marker = userStateKeys(card.user_token, partitions).expiryKey(request.jit_token);
    expect(marker).toBe(
      `{${userStateKeys(card.user_token, partitions).partition}}:expiry:${request.jit_token}`,
    );
    expect(JSON.parse(String(await redis.get(marker)))).toEqual(first.movement);
    const again = await holds.expireHold(card.user_token, card.card_token, request.jit_token);
    expect(again).toEqual({ ...first, first: false });
    expect((await store.readState(card.user_token, card.card_token)).counters).toEqual(after.counters);
  });

  it('captures a single-message hold and moves a personal wallet from held to spent', async () => {
    const card = freshCard(personal_card);
    await seed(store, { card, balance: { available_minor: 10_000, held_minor: 0 } });
    const request = authorization(card, { amount_minor: 3_000, single_message: true });
    expect(await store.decide(request)).toMatchObject({ outcome: 'approve' });
    const result = await holds.expireHold(card.user_token, card.card_token, request.jit_token);
    expect(result.movement).toMatchObject({
      action: 'captured',
      program: 'personal',
      captured_minor: 3_000,
      released_minor: 0,
    });
    expect((await store.readState(card.user_token, card.card_token)).balance).toEqual({
      available_minor: 7_000,
      held_minor: 0,
    });
  });

  it('answers hold_not_found without a hold, and refuses a hold of another card', async () => {
    const card = freshCard(business_card);
    await seed(store, { card });
    expect((await holds.expireHold(card.user_token, card.card_token, 'jit-none')).movement).toMatchObject({
      action: 'hold_not_found',
      counter_deltas: [],
    });
    const request = authorization(card, { amount_minor: 100 });
    await store.decide(request);
    const other = freshCard(business_card, { user_token: card.user_token });
    await expect(
      holds.expireHold(card.user_token, other.card_token, request.jit_token),
    ).rejects.toMatchObject({
      code: 'AFC_CARD_STATE_CORRUPT',
    });
  });
});

describe('hash_compare_and_set.lua', () => {
  it('writes only over what was read', async () => {
    const key = '{1}:cas-test';
    await redis.hset(key, 'a', '1');
    expect(await holds.compareAndSetHash(key, { a: '2', b: '' }, { a: '5' })).toBe(false);
    expect(await holds.compareAndSetHash(key, { a: '1', b: '' }, { a: '5', b: '6' })).toBe(true);
    expect(await redis.hgetall(key)).toEqual({ a: '5', b: '6' });
  });
});

// A client whose every script answers `reply`: what a drifted or hand-edited script could say.
function answering(reply: unknown): RedisClient {
  const fake: Record<string, unknown> = {
    defineCommand(name: string) {
      fake[name] = async () => reply;
    },
  };
  return fake as unknown as RedisClient;
}

describe('replies the hold scripts do not know', () => {
  it.each([
    ['not JSON', 'expired'],
    ['not a string', 1],
    ['of another shape', JSON.stringify({ status: 'expired', first: true })],
  ])('an expire_hold reply %s is a CardStateReplyError', async (_, reply) => {
    const scripts = await defineHoldScripts(answering(reply), partitions);
    const expiring = scripts.expireHold('user-x', 'card-x', 'jit-x');
    await expect(expiring).rejects.toBeInstanceOf(CardStateReplyError);
    await expect(expiring).rejects.toMatchObject({ code: 'AFC_CARD_STATE_REPLY' });
  });

  it('a hash_compare_and_set reply other than 0 or 1 is a CardStateReplyError', async () => {
    const scripts = await defineHoldScripts(answering('OK'), partitions);
    await expect(scripts.compareAndSetHash('{1}:h', { a: '1' }, { a: '2' })).rejects.toMatchObject({
      code: 'AFC_CARD_STATE_REPLY',
    });
  });
});
