import {
  clearOfUtcMidnight,
  createTestDatabase,
  localServiceUrls,
  TcpProxy,
  type TestDatabase,
  waitUntil,
} from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  followUpBody,
  type Harness,
  jitBody,
  jitTokenOf,
  nextToken,
  postJit,
  startAuthorizer,
} from './harness.ts';
import { metricValue } from './metric-value.ts';
import { type SeededCard, seedBusinessCard } from './seed.ts';

const redis_port = Number(new URL(localServiceUrls.redis).port || 6379);
const postgres_port = Number(new URL(localServiceUrls.postgres).port || 5432);

describe('Redis unreachable', () => {
  const proxy = new TcpProxy({ target_port: redis_port });
  let h: Harness;
  let card: SeededCard;

  beforeAll(async () => {
    const port = await proxy.start();
    h = await startAuthorizer({ redis_url: `redis://127.0.0.1:${port}` });
    card = await seedBusinessCard(h.app.postgres.sql, { controls: { daily_limit_minor: 100_000 } });
    expect((await postJit(h.app, jitBody(card))).statusCode).toBe(200);
  });
  afterAll(async () => {
    proxy.restore();
    await h.close();
    await proxy.stop();
  });

  it('declines with system_error, turns unready, and recovers by itself', async () => {
    proxy.cut();
    const declined = await postJit(h.app, jitBody(card));
    expect(declined.statusCode).toBe(402);
    expect(declined.json()).toMatchObject({
      jit_funding: { decline_reason: 'TRANSACTION_NOT_PERMITTED', memo: 'system_error' },
    });
    const ready = await h.app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(503);
    proxy.restore();
    await waitUntil(async () => (await h.app.inject({ method: 'GET', url: '/ready' })).statusCode === 200, {
      message: 'ready again once Redis returns',
    });
    await waitUntil(async () => (await postJit(h.app, jitBody(card))).statusCode === 200, {
      message: 'approvals again once Redis returns',
    });
  });

  it('applies an informative message it could not apply in time once Redis returns', async () => {
    // Counted today and given back today: not across a UTC midnight.
    await clearOfUtcMidnight(10_000);
    const store = h.app.authorizer.card_state;
    const authorization = jitBody({ ...card, amount: '30.00' });
    expect((await postJit(h.app, authorization)).statusCode).toBe(200);
    const before = (await store.readState(card.user_token, card.card_token)).counters;
    proxy.cut();
    const reversal = followUpBody(card, authorization, 'pgfs.authorization.reversal', '30.00');
    // Marqeta has already reversed it: always 200, applied as soon as Redis answers again.
    expect((await postJit(h.app, reversal)).statusCode).toBe(200);
    proxy.restore();
    await waitUntil(
      async () =>
        (await store.readState(card.user_token, card.card_token).catch(() => undefined))?.counters?.day
          .amount_minor ===
        (before?.day.amount_minor ?? 0) - 3_000,
      { message: 'the reversal is applied in the background' },
    );
  });
});

describe('decision deadline', () => {
  const proxy = new TcpProxy({ target_port: redis_port });
  let h: Harness;
  let card: SeededCard;
  let warm_up_jit: string;

  beforeAll(async () => {
    // The warm-up and the test both count in today's window.
    await clearOfUtcMidnight(15_000);
    const port = await proxy.start();
    h = await startAuthorizer({
      redis_url: `redis://127.0.0.1:${port}`,
      // A command may wait on a stalled Redis far longer than the decision may.
      // The hold makes any deadline pass; 1 s keeps the warm-up approval safe on a busy machine.
      env: { DECISION_DEADLINE_MS: '1000', REDIS_COMMAND_TIMEOUT_MS: '10000' },
    });
    card = await seedBusinessCard(h.app.postgres.sql, { controls: { daily_limit_minor: 100_000 } });
    // The first decision is a cold one (the card's load, the scripts' first run): a stall past
    // the deadline declines it and releases whatever it held, so it is simply asked again.
    await waitUntil(
      async () => {
        const warm_up = jitBody({ ...card, amount: '1.00' });
        warm_up_jit = jitTokenOf(warm_up);
        return (await postJit(h.app, warm_up)).statusCode === 200;
      },
      { timeout_ms: 20_000, interval_ms: 200, message: 'an approved warm-up' },
    );
  });
  afterAll(async () => {
    proxy.release();
    await h.close();
    await proxy.stop();
  });

  it('declines past the deadline and undoes the hold the script made afterwards', async () => {
    const store = h.app.authorizer.card_state;
    // A non-incremental that names an earlier authorization must not release that one.
    const body = jitBody({ ...card, amount: '25.00', original_jit_funding_token: warm_up_jit });
    const jit_token = jitTokenOf(body);
    proxy.hold();
    const late = await postJit(h.app, body);
    expect(late.statusCode).toBe(402);
    expect(late.json()).toMatchObject({ jit_funding: { memo: 'timeout' } });
    // The held script reaches Redis now, past its deadline_at_ms: it stores the timeout decline
    // itself and holds nothing; the release queued behind it finds it already declined.
    proxy.release();
    await waitUntil(
      async () => (await store.readDecision(card.user_token, jit_token))?.outcome === 'decline',
      {
        message: 'the timed-out decision is recorded as a decline',
      },
    );
    const state = await store.readState(card.user_token, card.card_token);
    expect(state.counters).toMatchObject({ day: { amount_minor: 100, count: 1 } });
    const hold = await store.readHold(card.user_token, jit_token);
    expect(hold === null || hold.amount_minor === 0).toBe(true);
    expect(await store.readHold(card.user_token, warm_up_jit)).toMatchObject({ amount_minor: 100 });
    // Marqeta repeating the request gets the decline we answered, nothing held.
    const replay = await postJit(h.app, body);
    expect(replay.statusCode).toBe(402);
    expect((await store.readState(card.user_token, card.card_token)).counters).toMatchObject({
      day: { amount_minor: 100, count: 1 },
    });
  });
});

describe('data of record unreachable', () => {
  const proxy = new TcpProxy({ target_port: postgres_port });
  let database: TestDatabase;
  let h: Harness;
  let cached: SeededCard;
  let cold: SeededCard;

  beforeAll(async () => {
    const port = await proxy.start();
    database = await createTestDatabase();
    h = await startAuthorizer({
      database,
      database_url: (db) => {
        const url = new URL(db.url);
        url.port = String(port);
        return url.toString();
      },
      env: { PG_CONNECT_TIMEOUT_MS: '1000' },
    });
    cached = await seedBusinessCard(h.app.postgres.sql, { controls: { daily_limit_minor: 100_000 } });
    cold = await seedBusinessCard(h.app.postgres.sql, { controls: { daily_limit_minor: 100_000 } });
    expect((await postJit(h.app, jitBody(cached))).statusCode).toBe(200);
  });
  afterAll(async () => {
    proxy.restore();
    await h.close();
    await proxy.stop();
    await database.drop();
  });

  it('declines a card it must load with system_error, and decides cached cards from Redis', async () => {
    proxy.cut();
    const miss = await postJit(h.app, jitBody(cold));
    expect(miss.statusCode).toBe(402);
    expect((miss.json() as { jit_funding: { memo: string } }).jit_funding.memo).toBe('system_error');
    expect((await postJit(h.app, jitBody(cached))).statusCode).toBe(200);
    proxy.restore();
    await waitUntil(async () => (await postJit(h.app, jitBody(cold))).statusCode === 200, {
      message: 'the cold card loads once PostgreSQL returns',
    });
    // An unknown card is still unknown, not an error, once the database answers.
    const unknown = await postJit(
      h.app,
      jitBody({ card_token: nextToken('nocard'), user_token: nextToken('u') }),
    );
    expect(unknown.json()).toMatchObject({ jit_funding: { decline_reason: 'INVALID_CARD' } });
  });

  it('declines with system_error, not timeout, when PostgreSQL stalls past the deadline', async () => {
    const stalled = await seedBusinessCard(h.app.postgres.sql, { controls: { daily_limit_minor: 100_000 } });
    const body = jitBody(stalled);
    proxy.hold();
    try {
      const miss = await postJit(h.app, body);
      expect(miss.statusCode).toBe(402);
      expect((miss.json() as { jit_funding: { memo: string } }).jit_funding.memo).toBe('system_error');
    } finally {
      proxy.release();
    }
    await waitUntil(async () => (await postJit(h.app, jitBody(stalled))).statusCode === 200, {
      message: 'the stalled card loads once PostgreSQL answers again',
    });
    // Marqeta sending that message again gets the answer it got, memo included: the release
    // (sent before the decisions above, on the same connection) stored it, and the card,
    // loadable now, is not decided again.
    const replay = await postJit(h.app, body);
    expect(replay.statusCode).toBe(402);
    expect(replay.json()).toMatchObject({
      jit_funding: { decline_reason: 'TRANSACTION_NOT_PERMITTED', memo: 'system_error' },
    });
  });
});

describe('metrics', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startAuthorizer();
  });
  afterAll(async () => h.close());

  it('exposes decision latency, stages, cache hits, declines and the outbox backlog', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql, { controls: { daily_count_limit: 1 } });
    await postJit(h.app, jitBody(card));
    await postJit(h.app, jitBody(card));
    const text = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    const value = (name: string, labels: Record<string, string> = {}) => metricValue(text, name, labels);
    expect(value('afc_jit_decision_seconds_count', { outcome: 'approved', kind: 'authorization' })).toBe(1);
    expect(value('afc_jit_decision_seconds_count', { outcome: 'declined', kind: 'authorization' })).toBe(1);
    expect(value('afc_jit_stage_seconds_count', { stage: 'state_load' })).toBe(1);
    expect(value('afc_jit_stage_seconds_count', { stage: 'script' })).toBe(3);
    expect(value('afc_jit_stage_seconds_count', { stage: 'response' })).toBe(2);
    expect(value('afc_jit_state_lookups_total', { result: 'miss' })).toBe(1);
    expect(value('afc_jit_state_lookups_total', { result: 'hit' })).toBe(1);
    expect(
      value('afc_jit_declines_total', {
        decline_reason: 'TRANSACTION_COUNT_LIMIT_EXCEEDED',
        memo: 'daily_count_limit',
      }),
    ).toBe(1);
    expect(value('afc_outbox_backlog')).toBeGreaterThanOrEqual(0);
    // Checked once at start: the shared Redis runs on this machine, on the same clock (the
    // bound is loose: the reading's round trip on a busy machine is its only error).
    const redis_url = new URL(localServiceUrls.redis);
    const node = `${redis_url.hostname}:${redis_url.port || '6379'}`;
    const skew_s = value('afc_redis_clock_skew_seconds', { node });
    expect(Math.abs(skew_s ?? Number.NaN)).toBeLessThan(1);
  });
});
