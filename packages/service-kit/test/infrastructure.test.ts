import { Writable } from 'node:stream';
import { createLogger } from '@afc/log';
import {
  createTestDatabase,
  localServiceUrls,
  TcpProxy,
  type TestDatabase,
  uniqueTestId,
  waitUntil,
} from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  amqpPlugin,
  createService,
  personalStorePlugin,
  postgresPlugin,
  redisPlugin,
  type Service,
} from '../src/index.ts';

const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
const logger = createLogger({ name: 'infra-test', destination: silent });

async function buildApp(database: TestDatabase, redis_port: number, namespace: string): Promise<Service> {
  const app = await createService({ name: 'infra-test', logger, body_limit_bytes: 1024 });
  await app.register(postgresPlugin, {
    postgres: { url: database.url, application_name: 'infra-test', max_connections: 2 },
    connect_attempts: 2,
    migrate: true,
    readiness_critical: true,
    close_timeout_ms: 2_000,
  });
  await app.register(redisPlugin, {
    redis: {
      url: `redis://127.0.0.1:${redis_port}`,
      key_prefix: `${namespace}:`,
      command_timeout_ms: 5_000,
      max_retries_per_request: 1,
      connect_timeout_ms: 1_000,
    },
    ready_timeout_ms: 5_000,
    readiness_critical: true,
    close_timeout_ms: 2_000,
  });
  await app.register(amqpPlugin, {
    amqp: {
      url: localServiceUrls.amqp,
      connection_name: 'infra-test',
      topology: { namespace, exchanges: [], queues: [] },
    },
    start_timeout_ms: 5_000,
    required_at_start: true,
    readiness_critical: false,
    close_timeout_ms: 2_000,
  });
  await app.register(personalStorePlugin, { mongodb_db: 'unused', readiness_critical: true });
  return app;
}

describe('infrastructure plugins', () => {
  let database: TestDatabase;
  const proxy = new TcpProxy({ target_port: 6379 });
  let app: Service;

  beforeAll(async () => {
    database = await createTestDatabase();
    const port = await proxy.start();
    app = await buildApp(database, port, uniqueTestId('infra'));
  });

  afterAll(async () => {
    await proxy.stop();
    await database.drop();
  });

  it('connects, migrates and reports every dependency ready', async () => {
    const [row] = await app.postgres.sql<
      { count: number }[]
    >`select count(*)::int8 as count from schema_migrations`;
    expect(row?.count).toBeGreaterThanOrEqual(2);
    expect(app.personalStore.backend).toBe('postgres');
    const ready = await app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({
      status: 'healthy',
      services: {
        postgres: { status: 'healthy' },
        redis: { status: 'healthy' },
        rabbitmq: { status: 'healthy' },
      },
    });
  });

  it('reports a lost critical dependency unhealthy and recovers by itself', async () => {
    proxy.cut();
    const down = await app.inject({ method: 'GET', url: '/ready' });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({ status: 'unhealthy', services: { redis: { status: 'unhealthy' } } });
    proxy.restore();
    await waitUntil(async () => (await app.inject({ method: 'GET', url: '/ready' })).statusCode === 200, {
      message: 'ready again after redis returns',
    });
  });

  it('closes every client when the app closes', async () => {
    await app.close();
    expect(app.redis.status).toBe('end');
    expect(app.amqp.state).toBe('closed');
    const ping = await app.postgres.ping(1_000);
    expect(ping.ok).toBe(false);
  });
});

describe('postgres plugin, PostgreSQL not required at start', () => {
  const start = async (url: string) => {
    const app = await createService({ name: 'infra-test-optional', logger, body_limit_bytes: 1024 });
    await app.register(postgresPlugin, {
      postgres: { url, application_name: 'infra-test', max_connections: 1, connect_timeout_ms: 500 },
      connect_attempts: 1,
      migrate: true,
      readiness_critical: false,
      close_timeout_ms: 1_000,
      required_at_start: false,
    });
    await app.ready();
    return app;
  };

  it('starts while the server is away, and refuses to start on migrations that do not apply', async () => {
    const proxy = new TcpProxy({ target_port: Number(new URL(localServiceUrls.postgres).port || 5432) });
    const database = await createTestDatabase();
    try {
      const away_url = new URL(database.url);
      away_url.port = String(await proxy.start());
      proxy.cut();
      const away = await start(away_url.toString());
      expect((await away.postgres.ping(500)).ok).toBe(false);
      await away.close();
      // An applied migration whose file changed since: a bad deploy, not an outage.
      const first = await start(database.url);
      await first.postgres.sql`update schema_migrations set checksum = repeat('0', 64)
        where version = (select min(version) from schema_migrations)`;
      await first.close();
      await expect(start(database.url)).rejects.toMatchObject({ code: 'AFC_PG_MIGRATION_CHECKSUM' });
    } finally {
      await proxy.stop();
      await database.drop();
    }
  });
});
