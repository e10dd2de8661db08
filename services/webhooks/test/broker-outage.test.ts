import { signBody } from '@afc/marqeta-sim';
import { localServiceUrls, TcpProxy, waitUntil } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic_auth, type Harness, signature_secret, startWebhooks } from './harness.ts';
import { metricValue } from './metric-value.ts';
import { configureWebhook, provisionCard, type Sim, startSim, transitionCard } from './sim.ts';

let proxy: TcpProxy;
let h: Harness;
let s: Sim;
let card_token: string;

beforeAll(async () => {
  const broker = new URL(localServiceUrls.amqp);
  proxy = new TcpProxy({ target_host: broker.hostname, target_port: Number(broker.port || 5672) });
  const port = await proxy.start();
  broker.port = String(port);
  // A short confirm deadline: a held broker answers 503 within a test's patience.
  h = await startWebhooks({ amqp_url: broker.toString(), env: { AMQP_CONFIRM_TIMEOUT_MS: '1000' } });
  s = startSim();
  await configureWebhook(s, 'wh-outage', h.url, signature_secret, 'HMAC_SHA_256');
  ({ card_token } = await provisionCard(s, 'outage'));
  await s.sim.idle({ timeout_ms: 10_000 });
  const delivered = s.sim.state.deliveries.flatMap((delivery) => delivery.event_tokens);
  await h.take(delivered.length);
});
afterAll(async () => {
  proxy?.restore();
  await s?.sim.close();
  await h?.close();
  await proxy?.stop();
});

function deliveriesOf(tokens: ReadonlySet<string>) {
  return s.sim.state.deliveries.filter((delivery) =>
    delivery.event_tokens.some((token) => tokens.has(token)),
  );
}

describe('broker failures make Marqeta retry', () => {
  it('broker cut: 503 with Retry-After, nothing acknowledged, not ready; restored: the retry is published', async () => {
    const before = new Set(s.sim.state.card_transitions.keys());
    proxy.cut();
    await waitUntil(() => h.app.amqp.state !== 'connected', { message: 'the client saw the cut' });
    await transitionCard(s, card_token, 3);
    const tokens = new Set([...s.sim.state.card_transitions.keys()].filter((token) => !before.has(token)));
    expect(tokens.size).toBe(3);
    await waitUntil(() => deliveriesOf(tokens).some((delivery) => delivery.attempts.length >= 2), {
      message: 'a delivery refused and retried',
    });
    const body = JSON.stringify({ transactions: [{ token: 'direct-1' }] });
    const direct = await h.app.inject({
      method: 'POST',
      url: '/v1/webhooks/marqeta',
      headers: {
        'content-type': 'application/json',
        authorization: basic_auth,
        'x-marqeta-signature': signBody(body, signature_secret, 'HMAC_SHA_256'),
      },
      payload: body,
    });
    expect(direct.statusCode).toBe(503);
    expect(direct.headers['retry-after']).toBe('4');
    expect((await h.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503);
    for (const delivery of deliveriesOf(tokens)) {
      expect(delivery.outcome).toBe('pending');
      expect(new Set(delivery.attempts.map((attempt) => attempt.status_code))).toEqual(new Set([503]));
    }
    expect(await h.messageCount()).toBe(0);

    proxy.restore();
    await waitUntil(() => h.app.amqp.state === 'connected', { message: 'the client reconnected' });
    await s.sim.flushWebhooks({ timeout_ms: 10_000 });
    for (const delivery of deliveriesOf(tokens)) {
      expect(delivery.outcome).toBe('delivered');
      expect(delivery.attempts.at(-1)?.status_code).toBe(200);
    }
    const messages = await h.take(3);
    expect(new Set(messages.map((message) => message.message_id))).toEqual(tokens);
    const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(
      metricValue(metrics, 'afc_webhook_rejected_total', { reason: 'broker_unavailable' }),
    ).toBeGreaterThan(1);
  });

  it('confirms that do not come in time: 503; the same batch again is published with the same ids', async () => {
    const body = JSON.stringify({ transactions: [{ token: 'held-1' }, { token: 'held-2' }] });
    const send = () =>
      h.app.inject({
        method: 'POST',
        url: '/v1/webhooks/marqeta',
        headers: {
          'content-type': 'application/json',
          authorization: basic_auth,
          'x-marqeta-signature': signBody(body, signature_secret, 'HMAC_SHA_256'),
        },
        payload: body,
      });
    // Connected but silent: the publishes are written and their confirms never arrive in time.
    proxy.hold();
    const refused = await send();
    expect(h.app.amqp.state).toBe('connected');
    expect(refused.statusCode).toBe(503);
    proxy.release();
    expect((await send()).statusCode).toBe(200);
    // The held copies reached the broker on release, before the retry (same channel, in order):
    // each token twice, which is why consumers deduplicate on message_id.
    const messages = await h.take(4);
    expect(messages.map((message) => message.message_id).sort()).toEqual([
      'held-1',
      'held-1',
      'held-2',
      'held-2',
    ]);
  });
});
