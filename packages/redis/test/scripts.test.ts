import { access, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createTestRedisPrefix, localServiceUrls, waitUntil } from '@afc/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CoreScripts,
  core_scripts,
  defineScripts,
  lua_directory,
  type RedisClient,
} from '../src/index.ts';
import { closeAll, readyClient } from './helpers.ts';
import { startPrivateRedis } from './private-redis.ts';

const test_prefix = createTestRedisPrefix();
let client: RedisClient;
let scripts: CoreScripts;
// Sees keys as stored, without the client's prefix.
let raw: Redis;

beforeAll(async () => {
  client = await readyClient(test_prefix.prefix);
  scripts = await defineScripts(client, core_scripts);
  raw = new Redis(localServiceUrls.redis, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  raw.disconnect();
  await closeAll([client]);
  await test_prefix.cleanup();
});

describe('defineScripts', () => {
  it('loads scripts from lua/ beside src/ and dist/', async () => {
    const directory = fileURLToPath(lua_directory);
    expect(directory).toBe(fileURLToPath(new URL('../lua/', import.meta.url)));
    await access(new URL('write_if_newer.lua', lua_directory));
    // '../lua/' from dist/*.js holds only while tsc emits straight into dist/ from src/.
    const build = JSON.parse(await readFile(new URL('../tsconfig.build.json', import.meta.url), 'utf8'));
    expect(build.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
    const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
    expect(manifest.files).toEqual(expect.arrayContaining(['dist', 'lua']));
  });

  it('prefixes the KEYS of a script with key_prefix', async () => {
    const result = await scripts.writeIfNewer(['doc:prefixed'], {
      storage: 'string',
      document: { version: 1, state: 'ACTIVE' },
    });
    expect(result).toEqual({ written: true, stored_version: 1 });
    expect(await raw.get(`${test_prefix.prefix}doc:prefixed`)).toBe('{"version":1,"state":"ACTIVE"}');
    expect(await raw.exists('doc:prefixed')).toBe(0);
  });

  it('sends EVALSHA, and falls back to EVAL after SCRIPT FLUSH so calls keep succeeding', async () => {
    // A redis-server of its own: SCRIPT FLUSH and MONITOR on the shared one would reach every
    // test file running beside this one. A client of its own too: ioredis sends EVAL on the
    // first call of a connection, then EVALSHA.
    const server = await startPrivateRedis({ cluster: false });
    const fresh = await readyClient(test_prefix.prefix, { url: server.url });
    // monitor() opens a connection of its own, beside admin.
    const monitor = await server.admin.monitor();
    try {
      const fresh_scripts = await defineScripts(fresh, core_scripts);
      const key = 'doc:noscript';
      const seen: string[] = [];
      monitor.on('monitor', (_time: string, args: string[]) => {
        const name = args[0]?.toLowerCase();
        if ((name === 'eval' || name === 'evalsha') && args[3] === `${test_prefix.prefix}${key}`)
          seen.push(name);
      });
      const write = (version: number) =>
        fresh_scripts.writeIfNewer([key], { storage: 'hash', document: { version, state: 'ACTIVE' } });

      expect((await write(1)).written).toBe(true);
      expect((await write(2)).written).toBe(true);
      await server.admin.call('SCRIPT', 'FLUSH', 'SYNC');
      expect(await write(3)).toEqual({ written: true, stored_version: 3 });
      expect(await write(4)).toEqual({ written: true, stored_version: 4 });
      await waitUntil(() => seen.length >= 5, { timeout_ms: 5_000, message: 'monitor saw 5 script calls' });
      expect(seen).toEqual(['eval', 'evalsha', 'evalsha', 'eval', 'evalsha']);

      // Again under concurrency: every call after a flush still succeeds.
      await server.admin.call('SCRIPT', 'FLUSH', 'SYNC');
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => write(5 + i)));
      expect(results.filter((result) => result.written).length).toBeGreaterThanOrEqual(1);
      expect(await server.admin.hget(`${test_prefix.prefix}${key}`, 'version')).toBe('24');
    } finally {
      monitor.disconnect();
      await closeAll([fresh]);
      await server.stop();
    }
  });

  it('checks the number of keys before sending', async () => {
    const untyped = scripts.writeIfNewer as unknown as (keys: string[], input: unknown) => Promise<unknown>;
    await expect(untyped(['a', 'b'], { storage: 'string', document: { version: 1 } })).rejects.toThrow(
      /1 keys/,
    );
  });
});
