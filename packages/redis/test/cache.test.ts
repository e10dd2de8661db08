import { createTestRedisPrefix } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CacheKind,
  cache_ttl_s,
  cacheGetJson,
  cacheInvalidate,
  cacheKey,
  cacheSetJson,
  type RedisClient,
  RedisKeyError,
  userKeyspace,
} from '../src/index.ts';
import { closeAll, readyClient } from './helpers.ts';

const test_prefix = createTestRedisPrefix();
let client: RedisClient;

beforeAll(async () => {
  client = await readyClient(test_prefix.prefix);
});

afterAll(async () => {
  await closeAll([client]);
  await test_prefix.cleanup();
});

describe('control-plane cache', () => {
  it('keeps the TTLs of the original product', () => {
    expect(cache_ttl_s).toEqual({ user: 3_600, card: 900, limits: 300, balance: 600, session: 86_400 });
  });

  it('sets each kind with its TTL (PTTL within range)', async () => {
    for (const kind of Object.keys(cache_ttl_s) as CacheKind[]) {
      await cacheSetJson(client, kind, 'id-1', { kind });
      const pttl = await client.pttl(cacheKey(kind, 'id-1'));
      const ttl_ms = cache_ttl_s[kind] * 1000;
      expect(pttl).toBeGreaterThan(ttl_ms - 60_000);
      expect(pttl).toBeLessThanOrEqual(ttl_ms);
    }
  });

  it('round-trips JSON, tells a miss (undefined) from a cached null', async () => {
    const card = { token: 'card-1', state: 'ACTIVE', limit_minor: 125_000, currency: 'USD', mcc: ['5411'] };
    await cacheSetJson(client, 'card', 'card-1', card);
    expect(await cacheGetJson(client, 'card', 'card-1')).toEqual(card);
    await cacheSetJson(client, 'user', 'user-null', null);
    expect(await cacheGetJson(client, 'user', 'user-null')).toBeNull();
    expect(await cacheGetJson(client, 'user', 'never-set')).toBeUndefined();
    // A newer set replaces the value and restarts the TTL.
    await cacheSetJson(client, 'card', 'card-1', { ...card, state: 'SUSPENDED' });
    expect(await cacheGetJson(client, 'card', 'card-1')).toMatchObject({ state: 'SUSPENDED' });
  });

  it('invalidates an entry', async () => {
    await cacheSetJson(client, 'limits', 'card-2', { daily_minor: 10_000 });
    expect(await cacheInvalidate(client, 'limits', 'card-2')).toBe(true);
    expect(await cacheGetJson(client, 'limits', 'card-2')).toBeUndefined();
    expect(await cacheInvalidate(client, 'limits', 'card-2')).toBe(false);
  });

  it('reads a corrupt entry as a miss and drops it', async () => {
    await client.set(cacheKey('session', 'sess-1'), 'not json {', 'EX', 60);
    expect(await cacheGetJson(client, 'session', 'sess-1')).toBeUndefined();
    expect(await client.exists(cacheKey('session', 'sess-1'))).toBe(0);
  });

  it('lives apart from the real-time keys: no hash tag, validated ids', async () => {
    expect(cacheKey('card', 'card-1')).toBe('cache:card:card-1');
    expect(cacheKey('balance', 'user-1')).not.toMatch(/[{}]/);
    expect(userKeyspace('user-1').cardState('card-1').startsWith('cache:')).toBe(false);
    expect(() => cacheKey('card', 'a{1}')).toThrow(RedisKeyError);
    await expect(cacheSetJson(client, 'card', 'a:b', {})).rejects.toThrow(RedisKeyError);
    expect(() => cacheKey('nope' as CacheKind, 'x')).toThrow(/unknown cache kind/);
  });
});
