import { buildMarqetaSim, type MarqetaSim } from '@afc/marqeta-sim';
import { expect } from 'vitest';
import { webhook_password, webhook_username } from './harness.ts';

const credentials = {
  application_token: 'webhooks-test-app',
  admin_access_token: 'webhooks-test-admin-token',
};
const sim_auth = `Basic ${Buffer.from(`${credentials.application_token}:${credentials.admin_access_token}`).toString('base64')}`;

export interface Sim {
  readonly sim: MarqetaSim;
  // Calls the simulator's API (in process); expects `status`.
  api(method: 'POST' | 'PUT', path: string, body: unknown, status?: number): Promise<unknown>;
}

// The Marqeta simulator as the real sender: it batches, signs (its own signBody) and delivers
// over HTTP to the receiver, and retries anything but 200 (delays scaled down for tests).
export function startSim(): Sim {
  const sim = buildMarqetaSim({ ...credentials, log_level: 'silent', webhook_delay_factor: 0.001 });
  return {
    sim,
    async api(method, path, body, status = method === 'POST' ? 201 : 200) {
      const response = await sim.app.inject({
        method,
        url: path,
        headers: { authorization: sim_auth, 'content-type': 'application/json' },
        payload: JSON.stringify(body),
      });
      expect(response.statusCode, `${method} ${path}: ${response.body}`).toBe(status);
      return response.json();
    },
  };
}

export async function configureWebhook(
  s: Sim,
  token: string,
  url: string,
  secret: string,
  algorithm: 'HMAC_SHA_256' | 'HMAC_SHA_1',
) {
  await s.api('POST', '/v3/webhooks', {
    token,
    name: token,
    events: ['*'],
    config: {
      url,
      basic_auth_username: webhook_username,
      basic_auth_password: webhook_password,
      secret,
      signature_algorithm: algorithm,
    },
  });
}

// A user and an active card: one user event and one card transition (the issue).
export async function provisionCard(s: Sim, suffix: string) {
  const user_token = `user-${suffix}`;
  const card_product_token = `product-${suffix}`;
  const card_token = `card-${suffix}`;
  await s.api('POST', '/v3/users', { token: user_token, first_name: 'Ada', last_name: 'Lovelace' });
  await s.api('POST', '/v3/cardproducts', {
    token: card_product_token,
    name: 'Business',
    start_date: '2026-01-01',
    config: { card_life_cycle: { activate_upon_issue: true } },
  });
  await s.api('POST', '/v3/cards', { token: card_token, user_token, card_product_token });
  return { user_token, card_token };
}

// `count` card transitions, alternating SUSPENDED and ACTIVE.
export async function transitionCard(s: Sim, card_token: string, count: number) {
  for (let i = 0; i < count; i += 1) {
    const state = i % 2 === 0 ? 'SUSPENDED' : 'ACTIVE';
    await s.api('POST', '/v3/cardtransitions', { card_token, channel: 'API', state });
  }
}
