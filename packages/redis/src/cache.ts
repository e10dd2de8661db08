import assert from 'node:assert/strict';
import type { RedisClient } from './create-redis.ts';
import { assertToken } from './keys.ts';

// Read caches of the control plane (API reads of users, cards, limits, balances, sessions),
// with the TTLs of the original product. They are NOT the authorizer's real-time state: cache
// keys live under `cache:`, carry no hash tag, always expire, and no script reads them. The
// authorizer decides on the `{p}:` keys, which never expire while counting.
export const cache_ttl_s = {
  user: 3_600,
  card: 900,
  limits: 300,
  balance: 600,
  session: 86_400,
} as const;

export type CacheKind = keyof typeof cache_ttl_s;

export function cacheKey(kind: CacheKind, id: string): string {
  assert.ok(Object.hasOwn(cache_ttl_s, kind), `unknown cache kind ${kind}`);
  return `cache:${kind}:${assertToken('cache id', id)}`;
}

// undefined on a miss (a cached JSON null comes back as null). An entry that is not JSON can
// only come from a bug or a foreign writer: it is dropped and read as a miss, so the caller
// reloads from the data of record instead of failing a read over a cache.
export async function cacheGetJson(client: RedisClient, kind: CacheKind, id: string): Promise<unknown> {
  const key = cacheKey(kind, id);
  const text = await client.get(key);
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    await client.del(key);
    return undefined;
  }
}

export async function cacheSetJson(
  client: RedisClient,
  kind: CacheKind,
  id: string,
  value: unknown,
): Promise<void> {
  const text = JSON.stringify(value);
  assert.ok(typeof text === 'string', 'cache values must have a JSON form');
  await client.set(cacheKey(kind, id), text, 'EX', cache_ttl_s[kind]);
}

// After a write to the data of record. Returns whether an entry was there.
export async function cacheInvalidate(client: RedisClient, kind: CacheKind, id: string): Promise<boolean> {
  return (await client.del(cacheKey(kind, id))) === 1;
}
