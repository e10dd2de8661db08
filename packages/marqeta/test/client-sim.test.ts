import { inspect } from 'node:util';
import { redacted_placeholder } from '@afc/log';
import { buildMarqetaSim, type MarqetaSim } from '@afc/marqeta-sim';
import { uniqueTestId } from '@afc/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type MarqetaClient,
  MarqetaHttpError,
  MarqetaNetworkError,
  MarqetaTimeoutError,
  marqeta_error_codes,
} from '../src/index.ts';
import { credentials, logMessages, type TestClient, testClient } from './helpers.ts';

let sim: MarqetaSim;
let base_url: string;
const clients: MarqetaClient[] = [];

beforeAll(async () => {
  sim = buildMarqetaSim({ ...credentials, seed: 11, webhook_delay_factor: 0.001, log_level: 'silent' });
  base_url = `${await sim.listen({ host: '127.0.0.1', port: 0 })}/v3`;
});

afterEach(() => {
  sim.setFaults({ core_429_rate: 0, core_error_rate: 0, drop_connection_rate: 0, core_latency_ms: 0 });
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await sim.close();
});

function newClient(overrides: Parameters<typeof testClient>[1] = {}): TestClient {
  const made = testClient(base_url, overrides);
  clients.push(made.client);
  return made;
}

const gateway_password = 'gateway-password-0123456789';
const hook_password = 'Hook-Password#0123456789';
const hook_secret = 'hook-signing-secret-42';

// A funding source, a JIT card product on it and a user: what a card needs.
async function provision(client: MarqetaClient) {
  const id = uniqueTestId();
  const funding = await client.createProgramGatewayFundingSource({
    token: `pgfs-${id}`,
    name: 'authorizer',
    url: 'http://127.0.0.1:9/jit',
    basic_auth_username: 'gateway-user',
    basic_auth_password: gateway_password,
    timeout_millis: 2_500,
  });
  const product = await client.createCardProduct({
    token: `product-${id}`,
    name: 'Business JIT',
    start_date: '2026-01-01',
    config: {
      card_life_cycle: { activate_upon_issue: true },
      jit_funding: { programgateway_funding_source: { funding_source_token: funding.token, enabled: true } },
    },
  });
  const user = await client.createUser({ token: `user-${id}`, first_name: 'Ada', last_name: 'Lovelace' });
  return { id, funding, product, user };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('MarqetaClient against marqeta-sim', () => {
  it('creates and reads users, products, cards, transitions, funding sources and webhooks', async () => {
    const { client, clock } = newClient();
    const { id, funding, product, user } = await provision(client);
    expect(funding).toMatchObject({ token: `pgfs-${id}`, active: true, timeout_millis: 2_500 });
    expect(product.config?.jit_funding?.programgateway_funding_source).toEqual({
      funding_source_token: funding.token,
      enabled: true,
    });
    expect(user).toMatchObject({ token: `user-${id}`, status: 'ACTIVE', first_name: 'Ada' });
    expect(await client.getUser(user.token)).toMatchObject({ token: user.token, last_name: 'Lovelace' });
    expect(await client.updateUser(user.token, { email: 'ada@example.com' })).toMatchObject({
      email: 'ada@example.com',
      first_name: 'Ada',
    });
    expect(sim.state.users.get(user.token)?.object.email).toBe('ada@example.com');

    const card = await client.createCard({
      token: `card-${id}`,
      user_token: user.token,
      card_product_token: product.token,
    });
    expect(card).toMatchObject({ token: `card-${id}`, user_token: user.token, state: 'ACTIVE' });
    expect(card.last_four).toBe(sim.state.cards.get(card.token)?.object.pan.slice(-4));
    expect(card).not.toHaveProperty('pan');
    expect(await client.getCard(card.token)).toEqual(card);

    const suspended = await client.createCardTransition({
      token: `ct-${id}`,
      card_token: card.token,
      channel: 'API',
      state: 'SUSPENDED',
      reason_code: '01',
    });
    expect(suspended).toMatchObject({ card_token: card.token, state: 'SUSPENDED', type: 'state.suspended' });
    expect((await client.getCard(card.token)).state).toBe('SUSPENDED');

    const transition = await client.createUserTransition({
      token: `ut-${id}`,
      user_token: user.token,
      status: 'SUSPENDED',
      reason_code: '01',
      channel: 'API',
    });
    expect(transition).toMatchObject({ user_token: user.token, status: 'SUSPENDED' });
    expect((await client.getUser(user.token)).status).toBe('SUSPENDED');

    const webhook = await client.createWebhook({
      token: `hook-${id}`,
      name: 'issuer events',
      events: ['transaction.*', 'cardtransition.*'],
      config: {
        url: 'http://127.0.0.1:9/hooks',
        basic_auth_username: 'hook-user',
        basic_auth_password: hook_password,
        secret: hook_secret,
        signature_algorithm: 'HMAC_SHA_256',
      },
    });
    expect(webhook).toMatchObject({
      token: `hook-${id}`,
      active: true,
      events: ['transaction.*', 'cardtransition.*'],
    });
    expect(webhook.config).toMatchObject({
      url: 'http://127.0.0.1:9/hooks',
      signature_algorithm: 'HMAC_SHA_256',
    });
    expect(sim.state.webhooks.get(webhook.token)?.object.config.secret).toBe(hook_secret);
    expect(clock.sleeps).toEqual([]);
  });

  it('treats a repeated createCard with the same token as the same card (201 again, one card issued)', async () => {
    const { client } = newClient();
    const { id, product, user } = await provision(client);
    const request = { token: `card-${id}`, user_token: user.token, card_product_token: product.token };
    const first = await client.createCard(request);
    const cards_before = sim.state.cards.size;
    const second = await client.createCard(request);
    expect(second).toEqual(first);
    expect(sim.state.cards.size).toBe(cards_before);
  });

  it('fails at once on 409 when the token exists with different content', async () => {
    const { client, clock } = newClient();
    const { id, product, user } = await provision(client);
    const other = await client.createUser({ token: `other-${id}` });
    await client.createCard({
      token: `card-${id}`,
      user_token: user.token,
      card_product_token: product.token,
    });
    const error = await rejection(
      client.createCard({ token: `card-${id}`, user_token: other.token, card_product_token: product.token }),
    );
    expect(error).toBeInstanceOf(MarqetaHttpError);
    expect(error).toMatchObject({
      code: marqeta_error_codes.http,
      status: 409,
      error_code: '409001',
      attempts: 1,
    });
    expect(sim.state.cards.get(`card-${id}`)?.object.user_token).toBe(user.token);
    expect(clock.sleeps).toEqual([]);
  });

  it('fails at once on 404 and on 400 with Marqeta error_code and message', async () => {
    const { client, clock } = newClient();
    const missing = await rejection(client.getCard('no-such-card'));
    expect(missing).toMatchObject({ status: 404, error_code: '404001', attempts: 1 });
    expect((missing as MarqetaHttpError).error_message).toContain('no-such-card');

    const { id, product, user } = await provision(client);
    const card = await client.createCard({
      token: `card-${id}`,
      user_token: user.token,
      card_product_token: product.token,
    });
    await client.createCardTransition({
      token: `t1-${id}`,
      card_token: card.token,
      channel: 'API',
      state: 'TERMINATED',
    });
    const illegal = await rejection(
      client.createCardTransition({
        token: `t2-${id}`,
        card_token: card.token,
        channel: 'API',
        state: 'ACTIVE',
      }),
    );
    expect(illegal).toMatchObject({
      code: marqeta_error_codes.http,
      status: 400,
      error_code: '400121',
      attempts: 1,
    });
    expect((illegal as MarqetaHttpError).error_message).toMatch(/TERMINATED/);
    expect(clock.sleeps).toEqual([]);
    expect(client.circuit_state).toBe('closed');
  });

  it('does not retry bad credentials (401)', async () => {
    const { client, clock } = newClient({ admin_access_token: 'wrong-admin-token' });
    const error = await rejection(client.getUser('anyone'));
    expect(error).toMatchObject({ status: 401, error_code: '401001', attempts: 1 });
    expect(clock.sleeps).toEqual([]);
  });

  it('waits Retry-After after a 429, then succeeds on the second attempt', async () => {
    const { client, clock, log } = newClient();
    sim.setFaults({ core_429_rate: 1, retry_after_s: 2 });
    clock.onSleep = () => void sim.setFaults({ core_429_rate: 0 });
    const token = `user-${uniqueTestId()}`;
    expect(await client.createUser({ token })).toMatchObject({ token, status: 'ACTIVE' });
    expect(clock.sleeps).toEqual([2_000]);
    expect(logMessages(log, 'marqeta call retried')).toEqual([
      expect.objectContaining({ attempts: 1, status: 429, error_code: '429001', delay_ms: 2_000 }),
    ]);
  });

  it('retries a 500, then succeeds', async () => {
    const { client, clock } = newClient();
    sim.setFaults({ core_error_rate: 1 });
    clock.onSleep = () => void sim.setFaults({ core_error_rate: 0 });
    const token = `user-${uniqueTestId()}`;
    expect(await client.createUser({ token })).toMatchObject({ token });
    expect(clock.sleeps).toHaveLength(1);
    expect(sim.state.users.has(token)).toBe(true);
  });

  it('retries a dropped connection, then succeeds', async () => {
    const { client, clock, log } = newClient();
    sim.setFaults({ drop_connection_rate: 1 });
    clock.onSleep = () => void sim.setFaults({ drop_connection_rate: 0 });
    const token = `user-${uniqueTestId()}`;
    expect(await client.createUser({ token })).toMatchObject({ token });
    expect(logMessages(log, 'marqeta call retried')).toEqual([
      expect.objectContaining({ attempts: 1, code: marqeta_error_codes.network }),
    ]);
  });

  it('gives up on a persistent 500 after exactly max_attempts', async () => {
    const { client, clock, log } = newClient({
      retry: { max_attempts: 4, base_delay_ms: 10, max_delay_ms: 100 },
    });
    sim.setFaults({ core_error_rate: 1 });
    const token = `user-${uniqueTestId()}`;
    const error = await rejection(client.createUser({ token }));
    expect(error).toMatchObject({
      code: marqeta_error_codes.http,
      status: 500,
      error_code: '500001',
      attempts: 4,
    });
    expect(clock.sleeps).toHaveLength(3);
    expect(logMessages(log, 'marqeta call retried').map((entry) => entry.attempts)).toEqual([1, 2, 3]);
    expect(sim.state.users.has(token)).toBe(false);
  });

  it('gives up with a network error when every connection is dropped', async () => {
    const { client } = newClient({ retry: { max_attempts: 2 } });
    sim.setFaults({ drop_connection_rate: 1 });
    const error = await rejection(client.getUser('anyone'));
    expect(error).toBeInstanceOf(MarqetaNetworkError);
    expect(error).toMatchObject({ attempts: 2 });
  });

  it('ends a slow attempt at request_timeout_ms, retries it, then fails with AFC_MARQETA_TIMEOUT', async () => {
    const { client, clock } = newClient({ request_timeout_ms: 30, retry: { max_attempts: 2 } });
    sim.setFaults({ core_latency_ms: 400 });
    const error = await rejection(client.getUser('anyone'));
    expect(error).toBeInstanceOf(MarqetaTimeoutError);
    expect(error).toMatchObject({ code: marqeta_error_codes.timeout, attempts: 2 });
    expect(clock.sleeps).toHaveLength(1);
  });

  it('passes headers_timeout_ms to the pool (undici counts it on a timer of about 1 s resolution)', async () => {
    const { client } = newClient({ headers_timeout_ms: 20, retry: { max_attempts: 1 } });
    sim.setFaults({ core_latency_ms: 2_500 });
    const error = await rejection(client.getUser('anyone'));
    expect(error).toMatchObject({ code: marqeta_error_codes.timeout, attempts: 1 });
    expect(((error as MarqetaTimeoutError).cause as { code: string }).code).toBe('UND_ERR_HEADERS_TIMEOUT');
  });

  it('never logs nor carries credentials, passwords, PANs or CVVs', async () => {
    const wrong = newClient({ admin_access_token: 'wrong-admin-token' });
    await rejection(wrong.client.getUser('anyone'));
    const { client, log } = newClient({ retry: { max_attempts: 2 } });
    sim.setFaults({ core_error_rate: 1 });
    const failed = await rejection(client.getUser('anyone'));
    sim.setFaults({ core_error_rate: 0 });
    const { id, funding, product, user } = await provision(client);
    const card = await client.createCard({
      token: `card-${id}`,
      user_token: user.token,
      card_product_token: product.token,
    });
    // A conflicting repeat: the error must not carry the (new) password it was sent.
    const conflict = await rejection(
      client.createProgramGatewayFundingSource({
        token: funding.token,
        name: 'authorizer',
        url: 'http://127.0.0.1:9/jit',
        basic_auth_username: 'gateway-user',
        basic_auth_password: 'another-password-0123456789',
      }),
    );
    expect(conflict).toMatchObject({ status: 409 });
    const stored = sim.state.cards.get(card.token)?.object;
    const secrets = [
      credentials.admin_access_token,
      credentials.application_token,
      'wrong-admin-token',
      Buffer.from(`${credentials.application_token}:${credentials.admin_access_token}`).toString('base64'),
      'Basic ',
      gateway_password,
      'another-password-0123456789',
      String(stored?.pan),
      `"${String(stored?.cvv_number)}"`,
    ];
    const logged = [log.text(), wrong.log.text()].join('\n');
    const errors = [failed, conflict].map(
      (error) => `${inspect(error, { depth: 5 })} ${JSON.stringify(error)}`,
    );
    expect(logMessages(log, 'marqeta call retried').length).toBeGreaterThan(0);
    // The logger's redaction is the second line of defence: the client never even tries.
    expect(logged).not.toContain(redacted_placeholder);
    for (const secret of secrets) {
      expect(logged).not.toContain(secret);
      for (const error of errors) expect(error).not.toContain(secret);
    }
    expect(inspect(client, { depth: 5 })).not.toContain(credentials.admin_access_token);
  });
});
