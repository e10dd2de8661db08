import { randomInt } from 'node:crypto';
import { createTestRedisPrefix } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CoreScripts,
  core_scripts,
  defineScripts,
  type RedisClient,
  RedisScriptError,
  redis_error_codes,
  toHashFields,
  type VersionedDocument,
} from '../src/index.ts';
import { closeAll, readyClient } from './helpers.ts';

const test_prefix = createTestRedisPrefix();
const clients: RedisClient[] = [];
let client: RedisClient;
let scripts: CoreScripts;

beforeAll(async () => {
  for (let i = 0; i < 4; i += 1) clients.push(await readyClient(test_prefix.prefix));
  client = clients[0] as RedisClient;
  scripts = await defineScripts(client, core_scripts);
});

afterAll(async () => {
  await closeAll(clients);
  await test_prefix.cleanup();
});

function card(version: number, extra: Record<string, unknown> = {}): VersionedDocument {
  return { version, state: version % 2 === 0 ? 'ACTIVE' : 'SUSPENDED', ...extra };
}

describe('write_if_newer, string storage', () => {
  it('writes only a newer version; older and equal ones change nothing', async () => {
    const key = 'card:s1:controls';
    const write = (document: VersionedDocument) =>
      scripts.writeIfNewer([key], { storage: 'string', document });
    expect(await write(card(5, { mcc_block: ['7995'] }))).toEqual({ written: true, stored_version: 5 });
    expect(await write(card(3))).toEqual({ written: false, stored_version: 5 });
    expect(await write(card(5, { mcc_block: [] }))).toEqual({ written: false, stored_version: 5 });
    expect(JSON.parse((await client.get(key)) ?? 'null')).toEqual(card(5, { mcc_block: ['7995'] }));
    expect(await write(card(6))).toEqual({ written: true, stored_version: 6 });
    expect(JSON.parse((await client.get(key)) ?? 'null')).toEqual(card(6));
  });

  it('never leaves a TTL on real-time state', async () => {
    const key = 'card:s2:state';
    await client.set(key, JSON.stringify(card(1)), 'EX', 60);
    expect(await scripts.writeIfNewer([key], { storage: 'string', document: card(2) })).toMatchObject({
      written: true,
    });
    expect(await client.pttl(key)).toBe(-1);
  });
});

describe('write_if_newer, hash storage', () => {
  it('stores one field per member and replaces the whole hash on a newer version', async () => {
    const key = 'user:h1:state';
    const first = {
      version: 7,
      status: 'ACTIVE',
      kyc: true,
      limit_minor: 50_000,
      tags: { a: 1 },
      memo: null,
    };
    expect(toHashFields(first)).toEqual([
      ...['version', '7', 'status', 'ACTIVE', 'kyc', 'true'],
      ...['limit_minor', '50000', 'tags', '{"a":1}'],
    ]);
    expect(await scripts.writeIfNewer([key], { storage: 'hash', document: first })).toEqual({
      written: true,
      stored_version: 7,
    });
    expect(await client.hgetall(key)).toEqual({
      version: '7',
      status: 'ACTIVE',
      kyc: 'true',
      limit_minor: '50000',
      tags: '{"a":1}',
    });
    await scripts.writeIfNewer([key], { storage: 'hash', document: { version: 8, status: 'SUSPENDED' } });
    expect(await client.hgetall(key)).toEqual({ version: '8', status: 'SUSPENDED' });
    expect(await scripts.writeIfNewer([key], { storage: 'hash', document: { version: 2 } })).toEqual({
      written: false,
      stored_version: 8,
    });
    expect(await client.pttl(key)).toBe(-1);
  });

  it('applies out-of-order writes on one connection exactly when they are newer', async () => {
    const key = 'card:h2:state';
    const versions = [3, 1, 5, 4, 2, 5, 6, 0];
    const results = await Promise.all(
      versions.map((version) => scripts.writeIfNewer([key], { storage: 'hash', document: card(version) })),
    );
    // One connection keeps order, so the outcome of each write is known exactly.
    expect(results.map((result) => result.written)).toEqual([
      true,
      false,
      true,
      false,
      false,
      false,
      true,
      false,
    ]);
    expect(results.map((result) => result.stored_version)).toEqual([3, 3, 5, 5, 5, 5, 6, 6]);
    expect(await client.hgetall(key)).toEqual({ version: '6', state: 'ACTIVE' });
  });

  it('never regresses under concurrent out-of-order writers on several connections', async () => {
    const key = 'card:h3:state';
    const all_scripts = await Promise.all(clients.map((each) => defineScripts(each, core_scripts)));
    const versions = Array.from({ length: 80 }, (_, i) => i + 1);
    for (let i = versions.length - 1; i > 0; i -= 1) {
      const j = randomInt(i + 1);
      [versions[i], versions[j]] = [versions[j] as number, versions[i] as number];
    }
    const results = await Promise.all(
      versions.map((version, i) => {
        const writer = all_scripts[i % all_scripts.length] as CoreScripts;
        return writer
          .writeIfNewer([key], { storage: 'hash', document: card(version, { writer: i }) })
          .then((result) => ({ version, ...result }));
      }),
    );
    for (const result of results) {
      // Written: it is what was stored then. Skipped: something newer was already there.
      if (result.written) expect(result.stored_version).toBe(result.version);
      else expect(result.stored_version).toBeGreaterThan(result.version);
    }
    expect(results.find((result) => result.version === 80)?.written).toBe(true);
    const stored = await client.hgetall(key);
    expect(stored.version).toBe('80');
    expect(stored.writer).toBe(String(versions.indexOf(80)));
  });
});

describe('write_if_newer, errors', () => {
  it('answers broken stored state with a coded script error', async () => {
    await client.set('card:e1:controls', '{"no_version":true}');
    await expect(
      scripts.writeIfNewer(['card:e1:controls'], { storage: 'string', document: card(1) }),
    ).rejects.toMatchObject({
      code: redis_error_codes.script,
      message: expect.stringMatching(/AFC_STORED_VERSION/),
    });

    await client.hset('card:e2:state', { version: '1' });
    const wrong_type = scripts.writeIfNewer(['card:e2:state'], { storage: 'string', document: card(2) });
    await expect(wrong_type).rejects.toBeInstanceOf(RedisScriptError);
    await expect(wrong_type).rejects.toThrow(/WRONGTYPE/);

    await client.hset('card:e3:state', { state: 'ACTIVE' });
    await expect(
      scripts.writeIfNewer(['card:e3:state'], { storage: 'hash', document: card(1) }),
    ).rejects.toMatchObject({ code: redis_error_codes.script });
  });

  it('refuses versions that are not non-negative safe integers before sending', async () => {
    for (const version of [-1, 1.5, Number.NaN, 2 ** 53]) {
      await expect(
        scripts.writeIfNewer(['card:e4:state'], { storage: 'hash', document: { version } }),
      ).rejects.toThrow(/version/);
    }
    expect(await client.exists('card:e4:state')).toBe(0);
  });
});
