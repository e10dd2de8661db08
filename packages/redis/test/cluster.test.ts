import { uniqueTestId } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cacheGetJson,
  cacheSetJson,
  closeRedis,
  core_scripts,
  createRedis,
  defineScripts,
  outboxKey,
  type RedisClient,
  redisHealth,
  userKeyspace,
  waitReady,
} from '../src/index.ts';
import { type ClusterNode, startClusterNode } from './cluster-node.ts';
import { allKeys, captureLogger, test_client_options } from './helpers.ts';

let node: ClusterNode;

beforeAll(async () => {
  node = await startClusterNode();
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
});
