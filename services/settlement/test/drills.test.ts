import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { AmqpClient, deleteTopology, exchange_names, product_topology } from '@afc/amqp';
import type { OutboxEvent } from '@afc/card-state';
import { createLogger } from '@afc/log';
import { createPostgres, type PostgresClient } from '@afc/postgres';
import {
  createTestDatabase,
  createTestRedisPrefix,
  localServiceUrls,
  TcpProxy,
  uniqueTestId,
  waitUntil,
} from '@afc/testkit';
import { describe, expect, it } from 'vitest';
import { listParkedMessages, replayParkedMessages } from '../src/commands/parked.ts';
import { type Card, HoldModel } from './events.ts';
import { startOps } from './ops-harness.ts';
import { nextToken, seedBusinessCard } from './seed.ts';

const silent = createLogger({ name: 'settlement-drill', level: 'silent' });
const server_path = fileURLToPath(new URL('../src/server.ts', import.meta.url));

// Holds of one card, each authorized, incremented and partly cleared: three events per hold, and
// the books they must produce whatever the delivery (one row per hold, totals = what was held).
function holdEvents(card: Card, holds: number) {
  const events: OutboxEvent[] = [];
  let counted_minor = 0;
  for (let i = 0; i < holds; i += 1) {
    const hold = new HoldModel(card, nextToken('jit'));
    const amount = 1_000 + i * 10;
    events.push(hold.authorize(amount), hold.increment(200), hold.clear(amount - 100));
    counted_minor += amount + 200;
  }
  return {
    events,
    expected: { rows: holds, history: events.length, day_amount_minor: counted_minor, day_count: holds },
  };
}

async function books(postgres: PostgresClient, card_id: string) {
  const sql = postgres.sql;
  const [history] = await sql<{ n: number; distinct_ids: number }[]>`
    select count(*)::int as n, count(distinct event_id)::int as distinct_ids from transaction_events`;
  const [rows] = await sql<{ n: number }[]>`
    select count(*)::int as n from transactions where state = 'partially_cleared' and authorized_minor - cleared_minor = 300`;
  const [day] = await sql<{ amount_minor: number; count: number }[]>`
    select amount_minor, count from spending_totals where card_id = ${card_id} and window_kind = 'day'`;
  return {
    rows: rows?.n ?? 0,
    history: history?.n ?? 0,
    distinct_history: history?.distinct_ids ?? 0,
    day_amount_minor: day?.amount_minor ?? 0,
    day_count: day?.count ?? 0,
  };
}

// The settlement service as it runs in production: its own process, configured by environment.
function spawnSettlement(env: Record<string, string>): {
  child: ChildProcess;
  lines: string[];
  exited: Promise<unknown>;
} {
  const child = spawn(process.execPath, ['--conditions=@afc/source', server_path], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const collect = (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n'));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return { child, lines, exited: once(child, 'exit') };
}

async function listening(process: ReturnType<typeof spawnSettlement>) {
  let exited = false;
  void process.exited.then(() => {
    exited = true;
  });
  await waitUntil(() => exited || process.lines.some((line) => line.includes('"msg":"listening"')), {
    timeout_ms: 30_000,
    message: 'settlement listening',
  });
  if (exited) throw new Error(`settlement exited at start: ${process.lines.slice(-5).join('\n')}`);
}

describe('drill: settlement worker killed (SIGKILL) in the middle of a batch', () => {
  it('after a restart every event is applied exactly once', async () => {
    const database = await createTestDatabase();
    const prefix = createTestRedisPrefix();
    const namespace = uniqueTestId('sk');
    const topology = { ...product_topology, namespace };
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: localServiceUrls.redis,
      REDIS_KEY_PREFIX: prefix.prefix,
      AMQP_URL: localServiceUrls.amqp,
      AMQP_NAMESPACE: namespace,
      PORT: '0',
      LOG_LEVEL: 'info',
      AMQP_PREFETCH: '16',
      // The drill's events are dated in the past: no expiry under them.
      HOLD_EXPIRY_SWEEP_INTERVAL_MS: '0',
    };
    const client = new AmqpClient({
      url: localServiceUrls.amqp,
      connection_name: 'drill-relay',
      topology,
      logger: silent,
    });
    let postgres: PostgresClient | undefined;
    const processes: ReturnType<typeof spawnSettlement>[] = [];
    try {
      const first = spawnSettlement(env);
      processes.push(first);
      await listening(first);
      postgres = createPostgres({ url: database.url, application_name: 'drill', max_connections: 2 }, silent);
      const card = await seedBusinessCard(postgres.sql);
      const { events, expected } = holdEvents(card, 100);
      await client.start(5_000);
      const applied = async () => (await books(postgres as PostgresClient, card.card_id)).history;
      const publishing = (async () => {
        for (const event of events)
          await client.publish(exchange_names.transactions, event.type, event, {
            message_id: event.event_id,
            confirm_timeout_ms: 5_000,
          });
      })();
      // Killed once it has applied some, long before it could have applied all.
      await waitUntil(async () => (await applied()) >= 30, {
        timeout_ms: 30_000,
        interval_ms: 5,
        message: '30 applied',
      });
      first.child.kill('SIGKILL');
      await first.exited;
      const at_kill = await applied();
      await publishing;
      expect(at_kill).toBeLessThan(events.length);

      const second = spawnSettlement(env);
      processes.push(second);
      await listening(second);
      await waitUntil(async () => (await applied()) >= events.length, {
        timeout_ms: 60_000,
        message: 'every event applied',
      });
      // Anything redelivered after the restart has been seen again by now: it is a duplicate.
      await waitUntil(
        () => second.lines.filter((l) => l.includes('"settlement.event"')).length >= events.length - at_kill,
        {
          timeout_ms: 30_000,
          message: 'the restarted worker settled the rest',
        },
      );
      const found = await books(postgres, card.card_id);
      // biome-ignore lint/suspicious/noConsole: the drill's counts are what it is run for.
      console.log(
        `sigkill drill: ${events.length} published, ${at_kill} applied when killed, after restart:`,
        found,
      );
      expect(found).toEqual({ ...expected, distinct_history: expected.history });
    } finally {
      for (const p of processes)
        if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await Promise.all(processes.map((p) => p.exited));
      await client.close(5_000);
      await postgres?.close(5_000);
      await deleteTopology(localServiceUrls.amqp, topology);
      await prefix.cleanup();
      await database.drop();
    }
  }, 180_000);
});

describe('drill: PostgreSQL unreachable for a while', () => {
  it('events are retried, then parked; after the restore, replaying them completes the books', async () => {
    const proxy = new TcpProxy({ target_port: Number(new URL(localServiceUrls.postgres).port || 5432) });
    await proxy.start();
    const h = await startOps({
      database_proxy_port: proxy.port,
      env: { PG_CONNECT_TIMEOUT_MS: '1000' },
      // An attempt whose query the cut left waiting fails after this (the service's is 30 s).
      handler_timeout_ms: 2_000,
    });
    const direct = createPostgres(
      { url: h.database_url, application_name: 'drill', max_connections: 2 },
      silent,
    );
    try {
      const card = await seedBusinessCard(direct.sql);
      const before = holdEvents(card, 5);
      const during = holdEvents(card, 2);
      for (const event of before.events) await h.publish(event);
      await waitUntil(() => h.settled() >= before.events.length, {
        timeout_ms: 20_000,
        message: 'settled before the cut',
      });

      proxy.cut();
      for (const event of during.events) await h.publish(event);
      const parked = async () =>
        ((await listParkedMessages(h.client, ['settlement'], 100))[0]?.messages ?? []).length;
      // Each failed attempt waits for the pool's reconnection backoff or the handler timeout.
      await waitUntil(async () => (await parked()) >= during.events.length, {
        timeout_ms: 60_000,
        interval_ms: 200,
        message: 'every event of the outage parked',
      });
      const failed_attempts = h.log_lines.filter((l) => l.includes('"amqp.consumer.failed"')).length;
      // Each parked event was tried max_attempts (3) times before it was parked.
      expect(failed_attempts).toBeGreaterThanOrEqual(3 * during.events.length);
      expect(h.settled()).toBe(before.events.length);

      proxy.restore();
      // As an operator would: replay once settlement reaches PostgreSQL again (its pool
      // reconnects with backoff; a replay before that would only be parked again).
      await waitUntil(async () => (await h.app.postgres.ping(1_000)).ok, {
        timeout_ms: 30_000,
        message: 'settlement reaches PostgreSQL again',
      });
      const replay = await replayParkedMessages(h.client, { kind: 'all', queue: 'settlement' }, 1_000);
      expect(replay.replayed).toHaveLength(during.events.length);
      const total = before.events.length + during.events.length;
      await waitUntil(async () => (await books(direct, card.card_id)).history >= total, {
        timeout_ms: 30_000,
        message: 'books complete after the replay',
      });
      const found = await books(direct, card.card_id);
      const published = {
        rows: before.expected.rows + during.expected.rows,
        history: total,
        distinct_history: total,
        day_amount_minor: before.expected.day_amount_minor + during.expected.day_amount_minor,
        day_count: before.expected.day_count + during.expected.day_count,
      };
      // biome-ignore lint/suspicious/noConsole: the drill's counts are what it is run for.
      console.log(
        `postgres drill: ${total} published, ${during.events.length} parked after ${failed_attempts} failed attempts, ${replay.replayed.length} replayed; books:`,
        found,
      );
      expect(found).toEqual(published);
      expect(await parked()).toBe(0);
    } finally {
      await direct.close(5_000);
      await h.close();
      await proxy.stop();
    }
  }, 120_000);
});
