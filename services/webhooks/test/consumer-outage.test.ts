import { localServiceUrls, TcpProxy, waitUntil } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheCard, cardTransition, decide, type SeededCard, seedBusinessCard } from './consumer-seed.ts';
import { type Harness, startWebhooks } from './harness.ts';
import { metricValue } from './metric-value.ts';

const postgres_port = Number(new URL(localServiceUrls.postgres).port || 5432);
const redis_port = Number(new URL(localServiceUrls.redis).port || 6379);

describe('data of record unreachable', () => {
  const proxy = new TcpProxy({ target_port: postgres_port });
  let h: Harness;
  let card: SeededCard;

  beforeAll(async () => {
    const port = await proxy.start();
    h = await startWebhooks({
      consumer: true,
      database_url: (database) => {
        const url = new URL(database.url);
        url.port = String(port);
        return url.toString();
      },
      // An attempt on the cut pool fails within its handler timeout (the sum of these: 2 s).
      env: { PG_CONNECT_TIMEOUT_MS: '500', PG_STATEMENT_TIMEOUT_MS: '500', REDIS_COMMAND_TIMEOUT_MS: '500' },
    });
    card = await seedBusinessCard(h.app.postgres.sql);
    await cacheCard(h, card.card_token);
  });
  afterAll(async () => {
    proxy.restore();
    await h?.close();
    await proxy.stop();
  });

  it('retried through the delays, parked after 3 attempts, nothing half-applied; replayed after recovery it applies', async () => {
    proxy.cut();
    const event = cardTransition(card.card_token, 'SUSPENDED', '2026-03-09T10:00:00Z');
    await h.publishEvent('cardtransitions', event);
    await waitUntil(
      async () =>
        (await h.app.amqp.listParked('webhook-events', 10)).some((m) => m.message_id === event.token),
      { timeout_ms: 20_000, message: `the transition parked ${h.log_lines.slice(-15).join('')}` },
    );
    const [parked] = await h.app.amqp.listParked('webhook-events', 10);
    expect(parked).toMatchObject({ message_id: event.token, attempts: 3 });
    const metrics = await h.metrics();
    expect(
      metricValue(metrics, 'afc_webhook_consumed_total', { type: 'cardtransitions', outcome: 'retry' }),
    ).toBe(3);
    // Redis was not told anything the data of record does not hold.
    expect(await decide(h, card)).toBe('approve');

    proxy.restore();
    const report = await h.app.amqp.replayParked('webhook-events', { message_ids: [event.token], max: 10 });
    expect(report.replayed).toEqual([event.token]);
    await waitUntil(
      () => h.log_lines.some((line) => line.includes(event.token) && line.includes('"outcome":"applied"')),
      { timeout_ms: 10_000, message: 'the replayed transition applied' },
    );
    const [row] = await h.app.postgres.sql<{ state: string }[]>`
      select state from cards where card_token = ${card.card_token}`;
    expect(row?.state).toBe('suspended');
    expect(await decide(h, card)).toBe('card_not_active');
    expect(await h.app.amqp.listParked('webhook-events', 10)).toEqual([]);
  });
});

describe('Redis unreachable', () => {
  const proxy = new TcpProxy({ target_port: redis_port });
  let h: Harness;
  let card: SeededCard;

  beforeAll(async () => {
    const port = await proxy.start();
    h = await startWebhooks({
      consumer: true,
      redis_url: `redis://127.0.0.1:${port}`,
      env: { REDIS_COMMAND_TIMEOUT_MS: '300' },
    });
    card = await seedBusinessCard(h.app.postgres.sql);
    await cacheCard(h, card.card_token);
  });
  afterAll(async () => {
    proxy.restore();
    await h?.close();
    await proxy.stop();
  });

  it('the data of record moves once; the write-through is retried, and a replay after recovery completes it', async () => {
    proxy.cut();
    const event = cardTransition(card.card_token, 'SUSPENDED', '2026-03-10T10:00:00Z');
    await h.publishEvent('cardtransitions', event);
    await waitUntil(
      async () =>
        (await h.app.amqp.listParked('webhook-events', 10)).some((m) => m.message_id === event.token),
      { timeout_ms: 20_000, message: 'the transition parked' },
    );
    // Applied and recorded by the first attempt; the later ones found it and only retried Redis.
    const [row] = await h.app.postgres.sql<{ state: string }[]>`
      select state from cards where card_token = ${card.card_token}`;
    expect(row?.state).toBe('suspended');
    const recorded = await h.app.postgres
      .sql`select 1 from marqeta_transitions where event_token = ${event.token}`;
    expect(recorded).toHaveLength(1);

    proxy.restore();
    await waitUntil(() => h.app.redis.status === 'ready', { timeout_ms: 10_000, message: 'Redis back' });
    await h.app.amqp.replayParked('webhook-events', { message_ids: [event.token], max: 10 });
    await waitUntil(
      () => h.log_lines.some((line) => line.includes(event.token) && line.includes('"outcome":"duplicate"')),
      { timeout_ms: 10_000, message: 'the replay handled as a repeat' },
    );
    expect(await decide(h, card)).toBe('card_not_active');
  });
});
