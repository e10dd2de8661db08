import { Redis } from 'ioredis';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import {
  Cleanups,
  createTestDatabase,
  createTestRedisPrefix,
  localServiceUrls,
  startWithCleanups,
  TcpProxy,
  waitUntil,
} from '../src/index.ts';

describe('testkit', () => {
  it('creates and drops a database of its own', async () => {
    const database = await createTestDatabase();
    const sql = postgres(database.url, { max: 1, onnotice: () => {} });
    const [row] = await sql<{ name: string }[]>`select current_database() as name`;
    expect(row?.name).toBe(database.name);
    await sql.end();
    await database.drop();
    const admin = postgres(localServiceUrls.postgres, { max: 1 });
    const rows = await admin`select 1 from pg_database where datname = ${database.name}`;
    await admin.end();
    expect(rows.length).toBe(0);
  });

  it('cleans up only the keys under its prefix', async () => {
    const mine = createTestRedisPrefix();
    const other = createTestRedisPrefix();
    const redis = new Redis(localServiceUrls.redis);
    await redis.set(`${mine.prefix}{1}:a`, '1');
    await redis.set(`${other.prefix}b`, '2');
    await mine.cleanup();
    expect(await redis.exists(`${mine.prefix}{1}:a`)).toBe(0);
    expect(await redis.get(`${other.prefix}b`)).toBe('2');
    await other.cleanup();
    redis.disconnect();
  });

  describe('TcpProxy', () => {
    const proxy = new TcpProxy({ target_port: 6379 });
    afterAll(() => proxy.stop());

    it('forwards, cuts and restores connections', async () => {
      const port = await proxy.start();
      const options = {
        port,
        host: '127.0.0.1',
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        lazyConnect: true,
      };
      const first = new Redis(options);
      await first.connect();
      expect(await first.ping()).toBe('PONG');
      proxy.cut();
      await expect(first.ping()).rejects.toThrow();
      const refused = new Redis(options);
      refused.on('error', () => {});
      await expect(refused.connect().then(() => refused.ping())).rejects.toThrow();
      proxy.restore();
      const second = new Redis(options);
      await second.connect();
      expect(await second.ping()).toBe('PONG');
      second.disconnect();
      first.disconnect();
      refused.disconnect();
    });
  });
});

describe('TcpProxy hold', () => {
  const proxy = new TcpProxy({ target_port: 6379 });
  afterAll(() => proxy.stop());

  it('keeps connections open but silent until released, then delivers in order', async () => {
    const port = await proxy.start();
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
    await client.connect();
    proxy.hold();
    let answered = false;
    const pending = client.ping('held').then((reply) => {
      answered = true;
      return reply;
    });
    await waitUntil(() => proxy.held_chunk_count === 1, { message: 'the ping is held at the proxy' });
    expect(answered).toBe(false);
    proxy.release();
    expect(await pending).toBe('held');
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });
});

describe('Cleanups and startWithCleanups', () => {
  it('undoes in reverse order, goes on past a failing step, and runs each step once', async () => {
    const done: string[] = [];
    const cleanups = new Cleanups();
    cleanups.add(async () => done.push('first'));
    cleanups.add(async () => {
      throw new Error('this step fails');
    });
    cleanups.add(async () => done.push('last'));
    await cleanups.run();
    await cleanups.run();
    expect(done).toEqual(['last', 'first']);
  });

  it('undoes what a failed start made before the error goes on', async () => {
    const done: string[] = [];
    const started = startWithCleanups(async (cleanups) => {
      cleanups.add(async () => done.push('made'));
      throw new Error('start failed half-way');
    });
    await expect(started).rejects.toThrow('start failed half-way');
    expect(done).toEqual(['made']);
  });
});
