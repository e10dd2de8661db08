import type { RedisClient } from '@afc/redis';
import { createTestRedisPrefix } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CardStateStore } from '../src/index.ts';
import {
  authorization,
  business_card,
  closeClients,
  freshCard,
  holderOf,
  open_controls,
  personal_card,
  seed,
  sharedRedis,
  storeOn,
  zeroCounters,
} from './helpers.ts';

const prefix = createTestRedisPrefix();
let redis: RedisClient;
let store: CardStateStore;

beforeAll(async () => {
  redis = await sharedRedis(prefix.prefix);
  store = await storeOn(redis);
});

afterAll(async () => {
  await closeClients([redis]);
  await prefix.cleanup();
});

describe('loader and control-plane writes', () => {
  it('versioned documents never regress; an equal version is not newer', async () => {
    const card = freshCard(business_card, { version: 5 });
    expect(await store.writeCard(card)).toEqual({ written: true, stored_version: 5 });
    expect(await store.writeCard({ ...card, state: 'suspended', version: 4 })).toEqual({
      written: false,
      stored_version: 5,
    });
    expect(await store.writeCard({ ...card, state: 'suspended', version: 5 })).toEqual({
      written: false,
      stored_version: 5,
    });
    expect(await store.writeCard({ ...card, state: 'suspended', version: 6 })).toEqual({
      written: true,
      stored_version: 6,
    });
    expect((await store.readState(card.user_token, card.card_token)).card).toMatchObject({
      state: 'suspended',
    });
    const controls = { ...open_controls, daily_limit_minor: 100, version: 2 };
    expect(await store.writeControls(card.user_token, card.card_token, controls)).toMatchObject({
      written: true,
    });
    expect(
      await store.writeControls(card.user_token, card.card_token, { ...controls, version: 1 }),
    ).toMatchObject({
      written: false,
    });
    const holder = { ...holderOf(card), version: 3 };
    expect(await store.writeCardholder(holder)).toMatchObject({ written: true });
    expect(await store.writeCardholder({ ...holder, status: 'closed', version: 2 })).toMatchObject({
      written: false,
    });
  });

  it('a tombstone never hides a card written before it, and yields to any version after it', async () => {
    const card = freshCard(business_card);
    const key = store.keys(card.user_token, card.card_token).cardState;
    expect(await store.writeUnknownCard(card.user_token, card.card_token, 60)).toBe(true);
    expect((await store.readState(card.user_token, card.card_token)).card).toBe('unknown');
    expect(await redis.ttl(key)).toBeGreaterThan(0);
    expect(await store.writeCard(card)).toMatchObject({ written: true });
    expect(await redis.ttl(key)).toBe(-1);
    expect(await store.writeUnknownCard(card.user_token, card.card_token, 60)).toBe(false);
    expect((await store.readState(card.user_token, card.card_token)).card).toEqual(card);
    expect(await store.writeUnknownCardholder(card.user_token, 60)).toBe(true);
    expect(await store.writeCardholder({ ...holderOf(card), version: 0 })).toMatchObject({ written: true });
  });

  it('counters are written once: a reload never overwrites what the scripts counted', async () => {
    const card = freshCard(business_card);
    await seed(store, { card });
    await store.decide(authorization(card, { amount_minor: 700 }));
    expect(await store.writeCounters(card.user_token, card.card_token, zeroCounters())).toBe(false);
    expect((await store.readState(card.user_token, card.card_token)).counters?.day.amount_minor).toBe(700);
  });

  it('a wallet: "none" until the data of record has one; never over live totals', async () => {
    const card = freshCard(personal_card);
    await seed(store, { card, balance: null });
    expect((await store.readState(card.user_token, card.card_token)).balance).toBe('none');
    expect(await store.decide(authorization(card))).toMatchObject({ memo: 'balance_not_found' });
    expect(await store.writeBalance(card.user_token, { available_minor: 5_000, held_minor: 0 })).toBe(true);
    await store.decide(authorization(card, { amount_minor: 1_000 }));
    expect(await store.writeBalance(card.user_token, { available_minor: 5_000, held_minor: 0 })).toBe(false);
    expect(await store.writeBalance(card.user_token, null)).toBe(false);
    expect((await store.readState(card.user_token, card.card_token)).balance).toEqual({
      available_minor: 4_000,
      held_minor: 1_000,
    });
  });

  it('refuses documents of the wrong shape, with a coded error and nothing written', async () => {
    const card = freshCard(business_card);
    const bad = [
      () => store.writeCard({ ...card, version: -1 }),
      () => store.writeCard({ ...card, expiration_month: 13 }),
      () => store.writeCard({ ...card, state: 'lost' as never }),
      () => store.writeCard({ ...card, card_token: 'a:b' }),
      () =>
        store.writeControls(card.user_token, card.card_token, {
          ...open_controls,
          daily_limit_minor: 1.5,
          version: 1,
        }),
      () =>
        store.writeCounters(card.user_token, card.card_token, {
          ...zeroCounters(),
          day: { start: 1, amount_minor: -1, count: 0 },
        }),
      () => store.writeBalance(card.user_token, { available_minor: 1, held_minor: -1 }),
      () => store.writeUnknownCard(card.user_token, card.card_token, 0),
    ];
    for (const write of bad) await expect(write()).rejects.toMatchObject({ code: 'AFC_CARD_STATE_INVALID' });
    expect(await store.readState(card.user_token, card.card_token)).toEqual({
      card: null,
      controls: null,
      cardholder: null,
      counters: null,
      balance: null,
    });
  });
});
