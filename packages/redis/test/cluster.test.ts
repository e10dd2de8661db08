import { uniqueTestId } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cacheGetJson,
  cacheSetJson,
  closeRedis,
  coalesceTurnWrites,
  core_scripts,
  createRedis,
  defineScripts,
  duplicateRedis,
  outboxKey,
  type RedisClient,
  readClockSkew,
  redisHealth,
  userKeyspace,
  waitReady,
} from '../src/index.ts';
import { allKeys, captureLogger, test_client_options } from './helpers.ts';
import { type PrivateRedis, startPrivateRedis } from './private-redis.ts';

let node: PrivateRedis;

beforeAll(async () => {
  node = await startPrivateRedis({ cluster: true });
});

afterAll(async () => {
  await node?.stop();
});

async function slotsOf(keys: readonly string[]): Promise<number[]> {
  const pipeline = node.admin.pipeline();
  for (const key of keys) pipeline.call('CLUSTER', 'KEYSLOT', key);
  const results = (await pipeline.exec()) ?? [];
  return results.map(([error, slot]) => {
    if (error) throw error;
    return Number(slot);
  });
}

describe('hash slots (CLUSTER KEYSLOT of a real cluster node)', () => {
  it('computes the slots of the Redis Cluster specification', async () => {
    expect(await slotsOf(['somekey', 'foo{hash_tag}', '{hash_tag}bar'])).toEqual([11058, 2515, 2515]);
  });

  it('puts every key of one user in one slot, the slot of {p}, with or without a prefix', async () => {
    for (let i = 0; i < 100; i += 1) {
      const keys = userKeyspace(`user-${i}.${uniqueTestId('u')}`);
      const bare = allKeys(keys, `card-${i}`, `jit-${i}`);
      const prefixed = bare.map((key) => `afc:prod:${key}`);
      const slots = await slotsOf([keys.tag, ...bare, ...prefixed]);
      expect(new Set(slots).size).toBe(1);
      const [tag_slot] = await slotsOf([String(keys.partition)]);
      expect(slots[0]).toBe(tag_slot);
    }
  });

  it('would scatter the same keys without the hash tag (the check above can fail)', async () => {
    const keys = userKeyspace('user-0001');
    const untagged = allKeys(keys, 'card-1', 'jit-1').map((key) => key.replace(/[{}]/g, ''));
    expect(new Set(await slotsOf(untagged)).size).toBeGreaterThan(1);
  });

  it('gives the 64 partitions 64 outbox streams in their own slots', async () => {
    const outboxes = Array.from({ length: 64 }, (_, partition) => outboxKey(partition));
    expect(new Set(await slotsOf(outboxes)).size).toBe(64);
  });
});

describe('createRedis with cluster_nodes', () => {
  let client: RedisClient;
  const prefix = `${uniqueTestId('c')}:`;

  beforeAll(async () => {
    client = createRedis(
      { cluster_nodes: [node.url], key_prefix: prefix, ...test_client_options },
      captureLogger().logger,
    );
    await waitReady(client, 10_000);
  });

  afterAll(async () => {
    await closeRedis(client, 2_000);
  });

  it('runs scripts and cache helpers under the prefix, reading from masters', async () => {
    expect(client.options).toMatchObject({
      scaleReads: 'master',
      keyPrefix: prefix,
      enableOfflineQueue: false,
    });
    expect(await redisHealth(client, 5_000)).toMatchObject({ ok: true });
    const scripts = await defineScripts(client, core_scripts);
    const keys = userKeyspace('user-0001');
    const state = keys.cardState('card-1');
    expect(
      await scripts.writeIfNewer([state], { storage: 'hash', document: { version: 2, state: 'ACTIVE' } }),
    ).toEqual({ written: true, stored_version: 2 });
    expect(
      await scripts.writeIfNewer([state], { storage: 'hash', document: { version: 1, state: 'TERMINATED' } }),
    ).toEqual({ written: false, stored_version: 2 });
    expect(await node.admin.hgetall(`${prefix}${state}`)).toEqual({ version: '2', state: 'ACTIVE' });
    await cacheSetJson(client, 'card', 'card-1', { state: 'ACTIVE' });
    expect(await cacheGetJson(client, 'card', 'card-1')).toEqual({ state: 'ACTIVE' });
  });

  it('reads the clock of every master, each by its own TIME', async () => {
    const readings = await readClockSkew(client);
    const masters = (client as import('ioredis').Cluster).nodes('master');
    expect(readings.map((reading) => reading.node).sort()).toEqual(
      masters.map((master) => `${master.options.host}:${master.options.port}`).sort(),
    );
    for (const reading of readings)
      expect(Math.abs(reading.skew_ms)).toBeLessThanOrEqual(reading.uncertainty_ms + 1);
  });

  it('coalesces the writes of one turn on every master, and the commands still reach their nodes', async () => {
    const keys = Array.from({ length: 8 }, (_, i) => `{p${i}}:turn`);
    // Every master that owns one of the keys is connected before the turn that corks.
    await Promise.all(keys.map((key) => client.set(key, 'x')));
    const masters = (client as import('ioredis').Cluster).nodes('master');
    coalesceTurnWrites(client);
    const replies = keys.map((key, i) => client.set(key, String(i)));
    for (const master of masters) expect(master.stream.writableCorked).toBe(1);
    expect(await Promise.all(replies)).toEqual(Array(8).fill('OK'));
    for (const master of masters) expect(master.stream.writableCorked).toBe(0);
  });

  it('duplicates keep the node options (credentials, TLS, timeouts) and take their own name', async () => {
    const copy = duplicateRedis(client, captureLogger().logger, 'duplicate-test', 1_234);
    try {
      const original = (client as import('ioredis').Cluster).options.redisOptions ?? {};
      const options = (copy as import('ioredis').Cluster).options.redisOptions ?? {};
      expect(options).toMatchObject({
        connectTimeout: original.connectTimeout,
        maxRetriesPerRequest: original.maxRetriesPerRequest,
        connectionName: 'duplicate-test',
        commandTimeout: 1_234,
      });
      await waitReady(copy, 10_000);
      expect(await copy.set('{p1}:dup', 'x')).toBe('OK');
    } finally {
      await closeRedis(copy, 2_000);
    }
  });
});
