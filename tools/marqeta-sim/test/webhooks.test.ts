import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  basic,
  echo,
  provisionCard,
  receiver_auth,
  type SeenRequest,
  type StartedSim,
  signatureValid,
  startSim,
  startTinyServer,
  type TinyServer,
} from './helpers.ts';

const secret_a = 'secret-for-sha256';
const secret_b = 'secret-for-sha1';
let started: StartedSim;
let gateway: TinyServer;
let receiver_a: TinyServer;
let receiver_b: TinyServer;

function webhook(token: string, url: string, events: string[], secret: string, signature_algorithm: string) {
  return {
    token,
    name: token,
    events,
    config: {
      url,
      basic_auth_username: receiver_auth.username,
      basic_auth_password: receiver_auth.password,
      secret,
      signature_algorithm,
    },
  };
}

beforeAll(async () => {
  [started, gateway, receiver_a, receiver_b] = await Promise.all([
    startSim({ seed: 3 }),
    startTinyServer('/jit'),
    startTinyServer('/hooks/a'),
    startTinyServer('/hooks/b'),
  ]);
  gateway.answer = (seen) => ({ status: 200, body: echo(seen) });
  const a = await started.api(
    'POST',
    '/v3/webhooks',
    webhook('wh-a', receiver_a.url, ['*'], secret_a, 'HMAC_SHA_256'),
  );
  expect(a.status).toBe(201);
  expect(a.body).toMatchObject({ token: 'wh-a', config: { url: receiver_a.url } });
  expect(JSON.stringify(a.body)).not.toContain(secret_a);
  const b_events = ['transaction.*', 'cardtransition.*'];
  const b = await started.api(
    'POST',
    '/v3/webhooks',
    webhook('wh-b', receiver_b.url, b_events, secret_b, 'HMAC_SHA_1'),
  );
  expect(b.status).toBe(201);
});

beforeEach(async () => {
  await started.sim.idle({ timeout_ms: 5_000 });
  for (const receiver of [receiver_a, receiver_b]) {
    receiver.seen.length = 0;
    receiver.answer = () => ({ status: 200, body: '{}' });
  }
});

afterAll(async () => {
  await started.sim.close();
  await Promise.all([gateway.close(), receiver_a.close(), receiver_b.close()]);
});

function eventsOf(seen: readonly SeenRequest[], key: string): Array<Record<string, unknown>> {
  return seen.flatMap((request) => (request.body[key] as Array<Record<string, unknown>> | undefined) ?? []);
}

describe('webhook delivery', () => {
  it('batches up to 10 events per body, keyed by type, signed with each webhook algorithm', async () => {
    expect((await started.api('POST', '/_sim/faults', { webhooks_paused: true })).status).toBe(200);
    const card = await provisionCard(started, gateway.url);
    for (let i = 0; i < 12; i += 1) {
      for (const state of ['SUSPENDED', 'ACTIVE']) {
        await started.api('POST', '/v3/cardtransitions', {
          card_token: card.card_token,
          channel: 'API',
          state,
        });
      }
    }
    for (let i = 0; i < 3; i += 1) {
      await started.api('POST', '/v3/simulate/authorization', { card_token: card.card_token, amount: 1 + i });
    }
    expect(receiver_a.seen).toHaveLength(0);
    await started.api('POST', '/_sim/faults', { webhooks_paused: false });
    await started.sim.idle({ timeout_ms: 5_000 });

    for (const [receiver, secret, algorithm, other] of [
      [receiver_a, secret_a, 'HMAC_SHA_256', 'HMAC_SHA_1'],
      [receiver_b, secret_b, 'HMAC_SHA_1', 'HMAC_SHA_256'],
    ] as const) {
      const sizes = receiver.seen.map((seen) =>
        Object.values(seen.body).map((events) => (events as unknown[]).length),
      );
      // 1 issue + 24 transitions = 25 card transitions, then 3 transactions.
      expect(sizes.flat().sort((x, y) => y - x)).toEqual([10, 10, 5, 3]);
      for (const seen of receiver.seen) {
        expect(Object.keys(seen.body)).toHaveLength(1);
        expect(seen.headers.authorization).toBe(basic(receiver_auth.username, receiver_auth.password));
        expect(signatureValid(seen, secret, algorithm)).toBe(true);
        expect(signatureValid(seen, secret, other)).toBe(false);
      }
      const tokens = eventsOf(receiver.seen, 'cardtransitions').map((event) => event.token);
      expect(new Set(tokens).size).toBe(25);
      expect(eventsOf(receiver.seen, 'transactions').map((event) => event.state)).toEqual([
        'PENDING',
        'PENDING',
        'PENDING',
      ]);
    }
  });

  it('retries a body answered 500 until a 200, with the same bytes, and honours subscriptions', async () => {
    let failures_left = 2;
    receiver_a.answer = () =>
      failures_left-- > 0 ? { status: 500, body: '{}' } : { status: 200, body: '{}' };
    await started.api('POST', '/v3/users', { token: 'u-hook' });
    await started.api('POST', '/v3/usertransitions', {
      user_token: 'u-hook',
      status: 'SUSPENDED',
      reason_code: '01',
      channel: 'API',
    });
    await started.sim.idle({ timeout_ms: 5_000 });
    expect(receiver_a.seen).toHaveLength(3);
    expect(new Set(receiver_a.seen.map((seen) => seen.raw)).size).toBe(1);
    expect(eventsOf(receiver_a.seen, 'usertransitions')[0]).toMatchObject({
      user_token: 'u-hook',
      status: 'SUSPENDED',
    });
    // wh-b subscribes to transactions and card transitions only.
    expect(receiver_b.seen).toHaveLength(0);
    const delivery = started.sim.state.deliveries.at(-1);
    expect(delivery).toMatchObject({
      webhook_token: 'wh-a',
      body_key: 'usertransitions',
      outcome: 'delivered',
    });
    expect(delivery?.attempts.map((attempt) => attempt.status_code)).toEqual([500, 500, 200]);
  });

  it('gives up after 10 attempts and reports it', async () => {
    receiver_a.answer = () => ({ status: 503, body: '' });
    await started.api('POST', '/v3/usertransitions', {
      user_token: 'u-hook',
      status: 'ACTIVE',
      reason_code: '01',
      channel: 'API',
    });
    // Fast-forwards the growing delays instead of waiting for them.
    await started.sim.flushWebhooks({ timeout_ms: 5_000 });
    const delivery = started.sim.state.deliveries.at(-1);
    expect(delivery?.outcome).toBe('failed');
    expect(delivery?.attempts).toHaveLength(10);
    expect(receiver_a.seen).toHaveLength(10);
    expect(started.sim.state.errors.at(-1)?.code).toBe('AFC_SIM_WEBHOOK_DELIVERY_FAILED');
  });

  it('replays one stored event on request and answers the body it sent', async () => {
    const card = await provisionCard(started, gateway.url);
    const auth = await started.api('POST', '/v3/simulate/authorization', {
      card_token: card.card_token,
      amount: 4,
    });
    const token = String((auth.body.transaction as { token: string }).token);
    await started.sim.idle({ timeout_ms: 5_000 });
    receiver_a.seen.length = 0;
    const replay = await started.api('POST', `/v3/webhooks/wh-a/transaction/${token}`);
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ transactions: [{ token, state: 'PENDING' }] });
    await started.sim.idle({ timeout_ms: 5_000 });
    expect(receiver_a.seen).toHaveLength(1);
    expect(eventsOf(receiver_a.seen, 'transactions').map((event) => event.token)).toEqual([token]);
    expect(signatureValid(receiver_a.seen[0] as SeenRequest, secret_a, 'HMAC_SHA_256')).toBe(true);
    expect((await started.api('POST', '/v3/webhooks/wh-a/transaction/no-such-txn')).status).toBe(404);
  });

  it('pings with the healthcheck body, signed, and reports a receiver that refuses it', async () => {
    const ping = await started.api('POST', '/v3/webhooks/wh-b/ping');
    expect(ping.status).toBe(200);
    const expected = { pings: [{ token: 'marqeta', payload: 'healthcheck' }] };
    expect(ping.body).toEqual(expected);
    expect(receiver_b.seen.map((seen) => seen.body)).toEqual([expected]);
    expect(signatureValid(receiver_b.seen[0] as SeenRequest, secret_b, 'HMAC_SHA_1')).toBe(true);
    receiver_b.answer = () => ({ status: 401, body: '' });
    expect((await started.api('POST', '/v3/webhooks/wh-b/ping')).status).toBe(400);
  });
});

describe('delivery guarantees at the edges', () => {
  it('delivers some events twice when duplicate_webhook_rate says so, and reports queue overflow', async () => {
    const other = await startSim({ seed: 9, duplicate_webhook_rate: 1, webhook_max_queued_events: 3 });
    const receiver = await startTinyServer('/hooks/c');
    try {
      await other.api(
        'POST',
        '/v3/webhooks',
        webhook('wh-c', receiver.url, ['usertransition.*'], 's', 'HMAC_SHA_256'),
      );
      await other.api('POST', '/_sim/faults', { webhooks_paused: true });
      await other.api('POST', '/v3/users', { token: 'u-edge' });
      for (const status of ['SUSPENDED', 'ACTIVE', 'SUSPENDED', 'ACTIVE', 'SUSPENDED']) {
        const answer = await other.api('POST', '/v3/usertransitions', {
          user_token: 'u-edge',
          status,
          reason_code: '01',
          channel: 'API',
        });
        expect(answer.status).toBe(201);
      }
      const overflow = other.sim.state.errors.filter((error) => error.code === 'AFC_SIM_WEBHOOK_QUEUE_FULL');
      expect(overflow).toHaveLength(2);
      const state = await other.api('GET', '/_sim/state');
      expect(state.body).toMatchObject({ webhook_queue: { queued_events: 3, paused: true } });
      await other.api('POST', '/_sim/faults', { webhooks_paused: false });
      await other.sim.idle({ timeout_ms: 5_000 });
      // One body of the 3 queued events, then the same body again.
      expect(receiver.seen).toHaveLength(2);
      expect(receiver.seen[0]?.raw).toBe(receiver.seen[1]?.raw);
      expect(eventsOf(receiver.seen, 'usertransitions')).toHaveLength(6);
      expect(other.sim.state.deliveries.map((delivery) => delivery.origin)).toEqual(['event', 'duplicate']);
    } finally {
      await other.sim.close();
      await receiver.close();
    }
  });
});
