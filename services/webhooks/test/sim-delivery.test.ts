import { WebhookReceived } from '@afc/messages';
import { waitUntil } from '@afc/testkit';
import { Value } from '@sinclair/typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, signature_secret, startWebhooks } from './harness.ts';
import { configureWebhook, provisionCard, type Sim, startSim, transitionCard } from './sim.ts';

const algorithms = [
  { config: 'sha256', sim: 'HMAC_SHA_256' },
  { config: 'sha1', sim: 'HMAC_SHA_1' },
] as const;

describe.each(algorithms)('deliveries from the simulator signed with $config', (algorithm) => {
  let h: Harness;
  let s: Sim;

  beforeAll(async () => {
    h = await startWebhooks({ env: { WEBHOOK_SIGNATURE_ALGORITHM: algorithm.config } });
    s = startSim();
    await configureWebhook(s, 'wh-main', h.url, signature_secret, algorithm.sim);
  });
  afterAll(async () => {
    await s?.sim.close();
    await h?.close();
  });

  it('publishes every event of every batch with message_id = event token before answering 200', async () => {
    // Held, then released at once: the 12 card transitions leave as one batch of 10 and one of 2.
    s.sim.setFaults({ webhooks_paused: true });
    const { user_token, card_token } = await provisionCard(s, algorithm.config);
    await transitionCard(s, card_token, 11);
    await s.api('POST', '/v3/usertransitions', {
      user_token,
      status: 'SUSPENDED',
      reason_code: '01',
      channel: 'API',
    });
    s.sim.setFaults({ webhooks_paused: false });
    await s.sim.idle({ timeout_ms: 10_000 });

    const deliveries = s.sim.state.deliveries.filter((delivery) => delivery.webhook_token === 'wh-main');
    for (const delivery of deliveries) {
      expect(delivery.outcome).toBe('delivered');
      expect(delivery.attempts.map((attempt) => attempt.status_code)).toEqual([200]);
    }
    const sizes = deliveries.map((delivery) => `${delivery.body_key}:${delivery.event_tokens.length}`);
    expect(sizes).toEqual(expect.arrayContaining(['cardtransitions:10', 'cardtransitions:2']));
    const type_of = new Map(
      deliveries.flatMap((delivery) => delivery.event_tokens.map((token) => [token, delivery.body_key])),
    );
    expect([...type_of.values()]).toContain('usertransitions');

    const messages = await h.take(type_of.size);
    expect(messages.map((message) => message.message_id).sort()).toEqual([...type_of.keys()].sort());
    for (const message of messages) {
      const type = type_of.get(String(message.message_id));
      expect(Value.Check(WebhookReceived, message.payload)).toBe(true);
      expect(message.payload).toMatchObject({ type, event: { token: message.message_id } });
      expect(message.routing_key).toBe(`webhook.${type}`);
    }
  });

  it('answers the simulator ping 200 and publishes nothing', async () => {
    const answer = await s.api('POST', '/v3/webhooks/wh-main/ping', {}, 200);
    expect(answer).toEqual({ pings: [{ token: 'marqeta', payload: 'healthcheck' }] });
    expect(await h.messageCount()).toBe(0);
  });

  it('refuses what the simulator signs with another secret: retried, never acknowledged, nothing published', async () => {
    // The only sender now signs with a secret the receiver does not have.
    await s.api('PUT', '/v3/webhooks/wh-main', { active: false }, 200);
    await configureWebhook(s, 'wh-other', h.url, `${signature_secret}-other`, algorithm.sim);
    const { card_token } = await provisionCard(s, `${algorithm.config}-other`);
    await transitionCard(s, card_token, 1);
    const refused = () => s.sim.state.deliveries.filter((delivery) => delivery.webhook_token === 'wh-other');
    // Marqeta's side of the contract: anything but 200 is retried.
    await waitUntil(() => refused().some((delivery) => delivery.attempts.length >= 2), {
      message: 'a refused delivery retried',
    });
    await s.api('PUT', '/v3/webhooks/wh-other', { active: false }, 200);
    await s.sim.flushWebhooks({ timeout_ms: 10_000 });
    for (const delivery of refused()) {
      expect(delivery.outcome).not.toBe('delivered');
      const statuses = delivery.attempts
        .map((attempt) => attempt.status_code)
        .filter((code) => code !== undefined);
      expect(new Set(statuses)).toEqual(new Set([401]));
    }
    expect(await h.messageCount()).toBe(0);
  });
});
