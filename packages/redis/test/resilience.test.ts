import { AssertionError } from 'node:assert';
import { createTestRedisPrefix, localServiceUrls, TcpProxy, waitUntil } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CreateRedisOptions,
  closeRedis,
  createRedis,
  type RedisClient,
  RedisTimeoutError,
  redis_error_codes,
  redisHealth,
  waitReady,
} from '../src/index.ts';
import { captureLogger, closeAll, readyClient, test_client_options } from './helpers.ts';

const test_prefix = createTestRedisPrefix();
const redis_url = new URL(localServiceUrls.redis);
let proxy: TcpProxy;

// The shared Redis, reached through a proxy of this file's own: cutting it drops only our
// clients' connections.
function proxiedUrl(): string {
  const url = new URL(redis_url);
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  return url.toString();
}

// A port nobody listens on: every connection attempt is refused.
async function deadPort(): Promise<number> {
  const closed = new TcpProxy({ target_port: 1 });
  const port = await closed.start();
  await closed.stop();
  return port;
}

beforeAll(async () => {
  proxy = new TcpProxy({ target_host: redis_url.hostname, target_port: Number(redis_url.port || 6379) });
  await proxy.start();
});

afterAll(async () => {
  await proxy.stop();
  await test_prefix.cleanup();
});

describe('connection loss', () => {
  it('fails fast while cut with the offline queue off, and reconnects by itself after restore', async () => {
    const { logger, lines } = captureLogger();
    // A command timeout far above the test's: a rejection can only come from the disabled
    // offline queue, never from waiting the timeout out.
    const client = await readyClient(
      test_prefix.prefix,
      { url: proxiedUrl(), command_timeout_ms: 120_000, error_log_interval_ms: 0 },
      logger,
    );
    let reconnects = 0;
    client.on('reconnecting', () => {
      reconnects += 1;
    });
    try {
      await client.set('resilience:k', 'v1');
      proxy.cut();
      await waitUntil(() => client.status !== 'ready', {
        timeout_ms: 10_000,
        message: 'client sees the cut',
      });
      await expect(client.get('resilience:k')).rejects.toThrow(/enableOfflineQueue options is false/);
      expect(await redisHealth(client, 60_000)).toMatchObject({ ok: false });

      proxy.restore();
      await waitUntil(() => client.status === 'ready', { timeout_ms: 10_000, message: 'client ready again' });
      expect(reconnects).toBeGreaterThan(0);
      expect(await client.get('resilience:k')).toBe('v1');
      expect(await redisHealth(client, 5_000)).toMatchObject({ ok: true });
      const messages = lines().map((line) => line.msg);
      expect(messages).toContain('redis reconnecting');
      expect(messages.filter((msg) => msg === 'redis ready').length).toBeGreaterThanOrEqual(2);
    } finally {
      proxy.restore();
      await closeAll([client]);
    }
  });

  it('with the offline queue on, queues a command while cut and answers it after restore', async () => {
    const client = await readyClient(test_prefix.prefix, {
      url: proxiedUrl(),
      enable_offline_queue: true,
      command_timeout_ms: 120_000,
      // ioredis fails queued commands after this many reconnections: high here, so the
      // queued command survives the cut. (With 1, as on the hot path, it would not.)
      max_retries_per_request: 1_000,
    });
    try {
      await client.set('resilience:q', 'queued');
      proxy.cut();
      await waitUntil(() => client.status !== 'ready', {
        timeout_ms: 10_000,
        message: 'client sees the cut',
      });
      const pending = client.get('resilience:q');
      proxy.restore();
      expect(await pending).toBe('queued');
    } finally {
      proxy.restore();
      await closeAll([client]);
    }
  });
});

describe('a Redis that is not there', () => {
  it('logs one error line per interval however often it fails, and never logs the password', async () => {
    const { logger, lines } = captureLogger();
    const port = await deadPort();
    const password = 'pw-never-in-logs-7f3a';
    const client = createRedis(
      {
        url: `redis://:${password}@127.0.0.1:${port}`,
        key_prefix: test_prefix.prefix,
        ...test_client_options,
        error_log_interval_ms: 3_600_000,
      },
      logger,
    );
    let errors = 0;
    let reconnects = 0;
    client.on('error', () => {
      errors += 1;
    });
    client.on('reconnecting', () => {
      reconnects += 1;
    });
    try {
      await waitUntil(() => reconnects >= 6, { timeout_ms: 15_000, message: 'six reconnection attempts' });
      expect(errors).toBeGreaterThanOrEqual(6);
      const logged = lines();
      expect(logged.filter((line) => line.msg === 'redis connection error')).toHaveLength(1);
      expect(logged.filter((line) => line.msg === 'redis reconnecting')).toHaveLength(1);
      expect(JSON.stringify(logged)).not.toContain(password);
      expect(logged[0]?.redis).toBe(`redis://:***@127.0.0.1:${port}`);

      await expect(client.ping()).rejects.toThrow(/enableOfflineQueue options is false/);
      expect(await redisHealth(client, 5_000)).toMatchObject({ ok: false });
      await expect(waitReady(client, 100)).rejects.toBeInstanceOf(RedisTimeoutError);
      await expect(waitReady(client, 100)).rejects.toMatchObject({ code: redis_error_codes.timeout });
    } finally {
      await closeRedis(client, 1_000);
    }
  });
});

describe('createRedis options', () => {
  it('refuses a key_prefix with braces: it would become the hash tag', () => {
    const options = { url: localServiceUrls.redis, ...test_client_options, key_prefix: 'afc{x}:' };
    expect(() => createRedis(options, captureLogger().logger)).toThrow(AssertionError);
  });

  it('refuses both url and cluster_nodes at once', () => {
    const options = {
      url: localServiceUrls.redis,
      cluster_nodes: [localServiceUrls.redis],
      key_prefix: '',
      ...test_client_options,
    } as unknown as CreateRedisOptions;
    expect(() => createRedis(options, captureLogger().logger)).toThrow(AssertionError);
  });

  it('passes the chosen options to ioredis', async () => {
    const client: RedisClient = await readyClient(test_prefix.prefix, { connection_name: 'afc-redis-test' });
    try {
      expect(client.options).toMatchObject({
        keyPrefix: test_prefix.prefix,
        commandTimeout: test_client_options.command_timeout_ms,
        maxRetriesPerRequest: 1,
        connectTimeout: test_client_options.connect_timeout_ms,
        enableOfflineQueue: false,
      });
      expect(await client.call('CLIENT', 'GETNAME')).toBe('afc-redis-test');
    } finally {
      await closeAll([client]);
    }
  });
});
