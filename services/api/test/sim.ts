import { randomUUID } from 'node:crypto';
import { createLogger } from '@afc/log';
import { MarqetaClient } from '@afc/marqeta';
import { buildMarqetaSim, type MarqetaSim } from '@afc/marqeta-sim';
import type { Service } from '@afc/service-kit';
import { admin_key, bearer } from './harness.ts';

export const application_token = 'api-test-app';
export const admin_access_token = 'api-test-admin-access-token';
export const product_token = 'product-activate';

export interface Sim {
  readonly sim: MarqetaSim;
  readonly client: MarqetaClient;
  // The API's environment pointing at this simulator.
  readonly env: Record<string, string>;
  close(): Promise<void>;
}

// Marqeta in-process, with a product whose cards are active on issue.
export async function startSim(): Promise<Sim> {
  const sim = buildMarqetaSim({ application_token, admin_access_token, log_level: 'silent' });
  const origin = await sim.listen();
  const client = new MarqetaClient({
    base_url: `${origin}/v3`,
    application_token,
    admin_access_token,
    logger: createLogger({ name: 'sim-setup', level: 'silent' }),
    retry: { max_attempts: 1 },
  });
  await client.createCardProduct({
    token: product_token,
    name: 'Activate on issue',
    start_date: '2024-01-01',
    config: { card_life_cycle: { activate_upon_issue: true } },
  });
  return {
    sim,
    client,
    env: {
      MARQETA_BASE_URL: `${origin}/v3`,
      MARQETA_APPLICATION_TOKEN: application_token,
      MARQETA_ADMIN_ACCESS_TOKEN: admin_access_token,
      MARQETA_TIMEOUT_MS: '5000',
    },
    async close() {
      await client.close();
      await sim.close();
    },
  };
}

// What the card-issuer does, done here: the Marqeta user and card with our tokens, then the
// business card active in the data of record.
export async function issueBusinessCard(
  app: Service,
  s: Sim,
  card: { card_token: string },
  user_token: string,
) {
  await s.client.createUser({ token: user_token, active: true, email: `${user_token}@example.com` });
  const issued = await s.client.createCard({
    token: card.card_token,
    user_token,
    card_product_token: product_token,
  });
  await app.postgres.sql`
    update cards set state = 'active', last_four = ${issued.last_four}, expiration_month = 12,
      expiration_year = 2099, version = version + 1
    where card_token = ${card.card_token}`;
}

export async function issuePersonalCard(app: Service, s: Sim, card_token: string, user_token: string) {
  await s.client.createUser({ token: user_token, active: true, email: `${user_token}@example.com` });
  await s.client.createCard({ token: card_token, user_token, card_product_token: product_token });
  await app.personalStore.setCardState(card_token, 'active');
}

export async function createPersonalUser(app: Service, kyc_status = 'verified', currency = 'USD') {
  const response = await app.inject({
    method: 'POST',
    url: '/v1/personal/users',
    headers: bearer(admin_key),
    payload: {
      email: `${randomUUID()}@example.com`,
      wallet_address: '0xabcdef0123456789',
      currency,
      kyc_status,
    },
  });
  if (response.statusCode !== 201) throw new Error(`personal user: ${response.statusCode} ${response.body}`);
  return response.json<{ user_token: string; wallet: { available_minor: number; version: number } }>();
}

export function simCardState(s: Sim, card_token: string): unknown {
  return s.sim.state.cards.get(card_token)?.object.state;
}

// Transitions made through the API (channel API) for one card, at the simulator.
export function apiTransitionsAt(s: Sim, card_token: string): unknown[] {
  return [...s.sim.state.card_transitions.values()]
    .map((stored) => stored.object)
    .filter((t) => t.card_token === card_token && t.channel === 'API');
}
