import { localServiceUrls, waitUntil } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, jitBody, postJit, startAuthorizer } from './harness.ts';
import { metricValue } from './metric-value.ts';
import { redisSnapshot } from './redis-snapshot.ts';
import { seedBusinessCard } from './seed.ts';

let h: Harness;

beforeAll(async () => {
  h = await startAuthorizer({ env: { OUTBOX_MAX_EVENTS_PER_PARTITION: '2' } });
});
afterAll(async () => h?.close());

describe('an outbox at its bound', () => {
  it('declines decisions outbox_full, changing nothing, until the relay has moved events; then decides the same message', async () => {
    // Events stay in the outbox, as while RabbitMQ is away.
    await h.app.authorizer.relay.stop(5_000);
    const card = await seedBusinessCard(h.app.postgres.sql, { controls: { daily_limit_minor: 100_000 } });
    // A fresh prefix: these two approvals are the partition's only events.
    expect((await postJit(h.app, jitBody(card))).statusCode).toBe(200);
    expect((await postJit(h.app, jitBody(card))).statusCode).toBe(200);
    const snapshot = () => redisSnapshot(localServiceUrls.redis, h.redis_prefix.prefix);
    const before = await snapshot();
    const body = jitBody(card);
    const refused = await postJit(h.app, body);
    expect(refused.statusCode).toBe(402);
    expect(refused.json()).toMatchObject({
      jit_funding: { decline_reason: 'TRANSACTION_NOT_PERMITTED', memo: 'outbox_full' },
    });
    expect(await snapshot()).toEqual(before);
    const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(
      metricValue(metrics, 'afc_jit_declines_total', {
        decline_reason: 'TRANSACTION_NOT_PERMITTED',
        memo: 'outbox_full',
      }),
    ).toBe(1);
    // RabbitMQ reachable again: the relay moves the events, and the refused message, sent
    // again, is decided afresh (nothing was stored for it).
    h.app.authorizer.relay.start();
    await waitUntil(async () => (await h.app.authorizer.relay.backlog()) === 0, {
      message: 'the relay drains the outbox',
    });
    expect((await postJit(h.app, body)).statusCode).toBe(200);
  });
});
