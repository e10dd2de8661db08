import type { RedisClient } from '@afc/redis';
import { createTestRedisPrefix } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CardStateStore } from '../src/index.ts';
import { closeClients, sharedRedis, storeOn } from './helpers.ts';

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

const balanceOf = async (user_token: string) => (await store.readState(user_token, 'card-any')).balance;

// A deposit of 500 that took the wallet (version `version`) to available 1_500.
const deposit = (user_token: string, deposit_id: string, version: number) => ({
  user_token,
  deposit_id,
  amount_minor: 500,
  wallet_version: version,
  wallet: { available_minor: 1_500, held_minor: 0 },
});

describe('wallet deposits reach the real-time balance exactly once', () => {
  it('a loaded balance older than the deposit is credited once; a repeat is a duplicate', async () => {
    expect(await store.writeBalance('u-credit-1', { available_minor: 1_000, held_minor: 200 }, 3)).toBe(true);
    expect(await store.creditBalance(deposit('u-credit-1', 'd-1', 4))).toBe('credited');
    expect(await store.creditBalance(deposit('u-credit-1', 'd-1', 4))).toBe('duplicate');
    expect(await balanceOf('u-credit-1')).toEqual({ available_minor: 1_500, held_minor: 200 });
  });

  it('a balance loaded after the deposit committed already counts it', async () => {
    await store.writeBalance('u-credit-2', { available_minor: 1_500, held_minor: 0 }, 4);
    expect(await store.creditBalance(deposit('u-credit-2', 'd-2', 4))).toBe('included');
    expect(await balanceOf('u-credit-2')).toEqual({ available_minor: 1_500, held_minor: 0 });
  });

  it('no balance loaded: filled from the wallet after the deposit; an older load is then refused', async () => {
    expect(await store.creditBalance(deposit('u-credit-3', 'd-3', 7))).toBe('filled');
    expect(await store.writeBalance('u-credit-3', { available_minor: 1_000, held_minor: 0 }, 6)).toBe(false);
    expect(await balanceOf('u-credit-3')).toEqual({ available_minor: 1_500, held_minor: 0 });
  });

  it('deposits crediting out of their commit order both count', async () => {
    await store.writeBalance('u-credit-4', { available_minor: 0, held_minor: 0 }, 1);
    expect(await store.creditBalance({ ...deposit('u-credit-4', 'd-4b', 3) })).toBe('credited');
    expect(await store.creditBalance({ ...deposit('u-credit-4', 'd-4a', 2) })).toBe('credited');
    expect(await balanceOf('u-credit-4')).toEqual({ available_minor: 1_000, held_minor: 0 });
  });

  it('refuses an amount that is not a positive integer, writing nothing', async () => {
    await expect(
      store.creditBalance({ ...deposit('u-credit-5', 'd-5', 1), amount_minor: 0 }),
    ).rejects.toMatchObject({ code: 'AFC_CARD_STATE_INVALID' });
    expect(await balanceOf('u-credit-5')).toBeNull();
  });
});
