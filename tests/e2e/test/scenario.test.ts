import { randomUUID } from 'node:crypto';
import { buildJitRequest } from '@afc/marqeta';
import { unissuedCard } from '@afc/personal-store';
import { clearOfUtcMidnight, waitUntil } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin_key, product_token, type Stack, startStack } from './stack.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => stack?.close());

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

async function call<T>(method: 'GET' | 'POST' | 'PUT', url: string, key: string, payload?: object) {
  const response = await stack.api.inject({
    method,
    url,
    headers: bearer(key),
    ...(payload ? { payload } : {}),
  });
  if (response.statusCode >= 300)
    throw new Error(`${method} ${url}: ${response.statusCode} ${response.body}`);
  return response.json<T>();
}

interface SimTransaction {
  state: string;
  response: { code: string };
  gpa_order: { jit_funding: { decline_reason?: string } };
}

// A purchase at a US grocer, through Marqeta (the simulator), which asks our authorizer.
async function purchase(card_token: string, amount: string): Promise<SimTransaction> {
  const response = await stack.sim.app.inject({
    method: 'POST',
    url: '/v3/simulate/authorization',
    headers: { authorization: `Basic ${Buffer.from('e2e-app:e2e-admin-access-token').toString('base64')}` },
    payload: {
      card_token,
      amount,
      mid: 'e2e-grocer',
      currency_code: 'USD',
      card_acceptor: { mcc: '5411', name: 'Corner Grocer', country_code: 'USA' },
    },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json<{ transaction: SimTransaction }>().transaction;
}

// Marqeta declines a suspended card itself, without asking the gateway; this is the message it
// would send if its own state lagged ours: the authorizer must decline it from Redis.
async function jitDirect(card_token: string, user_token: string) {
  const body = buildJitRequest({
    transaction_token: randomUUID(),
    jit_token: randomUUID(),
    method: 'pgfs.authorization',
    card_token,
    user_token,
    amount: '1.00',
    currency_code: 'USD',
    mcc: '5411',
    country_code: 'USA',
  });
  const response = await stack.authorizer.inject({
    method: 'POST',
    url: '/v1/jit',
    headers: {
      authorization: `Basic ${Buffer.from('marqeta-jit:an-e2e-jit-password-long-enough').toString('base64')}`,
    },
    payload: body,
  });
  return { status: response.statusCode, decline_reason: response.json().jit_funding?.decline_reason };
}

// The card's real-time state as the authorizer reads it (Redis).
async function redisCardState(user_token: string, card_token: string) {
  const { card } = await stack.api.api.card_state.readState(user_token, card_token);
  return card === null || card === 'unknown' ? null : { state: card.state, version: card.version };
}

// Suspends through the API and shows the write-through: Redis changed before the API answered
// (read at once after the answer, nothing else writes it), Marqeta (the simulator) declines by
// itself without asking our gateway, and our authorizer, asked directly as Marqeta would if its
// own state lagged, declines CARD_NOT_ACTIVE from Redis.
async function suspendAndProve(url: string, key: string, card_token: string, user_token: string) {
  const before = await redisCardState(user_token, card_token);
  expect(before?.state).toBe('active');
  await call('POST', url, key, { state: 'SUSPENDED', reason: 'lost' });
  const after = await redisCardState(user_token, card_token);
  expect(after?.state).toBe('suspended');
  expect(after?.version).toBeGreaterThan(before?.version ?? Number.POSITIVE_INFINITY);

  const gateway_calls = stack.sim.state.gateway_logs.length;
  const at_marqeta = await purchase(card_token, '1.00');
  expect(at_marqeta).toMatchObject({ state: 'DECLINED', response: { code: '1003' } });
  expect(stack.sim.state.gateway_logs.length).toBe(gateway_calls);
  expect(await jitDirect(card_token, user_token)).toEqual({ status: 402, decline_reason: 'CARD_NOT_ACTIVE' });
}

const approved = (t: SimTransaction) => t.state === 'PENDING' && t.response.code === '0000';
const declined = (t: SimTransaction) =>
  t.state === 'DECLINED' ? t.gpa_order.jit_funding.decline_reason : 'not declined';

describe('issue → controls → authorizations → suspension, end to end', () => {
  it('a business card: approvals, AMOUNT_LIMIT_EXCEEDED past the daily limit, CARD_NOT_ACTIVE once suspended', async () => {
    // The daily limit holds within one UTC day.
    await clearOfUtcMidnight(20_000);
    const { api_key } = await call<{ api_key: { key: string } }>('POST', '/v1/companies', admin_key, {
      name: 'Acme',
    });
    const key = api_key.key;
    const user = await call<{ id: string; user_token: string }>('POST', '/v1/users', key, {
      email: 'ada@example.com',
      full_name: 'Ada Employee',
    });
    const card = await call<{ id: string; card_token: string }>('POST', '/v1/cards', key, {
      user_id: user.id,
      card_product_token: product_token,
      currency: 'USD',
    });
    await waitUntil(
      async () => (await call<{ state: string }>('GET', `/v1/cards/${card.id}`, key)).state === 'active',
    );
    await call('PUT', `/v1/cards/${card.id}/controls`, key, { daily_limit_minor: 50_00 });

    expect(approved(await purchase(card.card_token, '20.00'))).toBe(true);
    expect(approved(await purchase(card.card_token, '25.00'))).toBe(true);
    expect(declined(await purchase(card.card_token, '10.00'))).toBe('AMOUNT_LIMIT_EXCEEDED');
    expect(approved(await purchase(card.card_token, '5.00'))).toBe(true);

    // The four purchases above were decided by our gateway, not by the simulator.
    expect(stack.sim.state.gateway_logs.length).toBeGreaterThanOrEqual(4);
    await suspendAndProve(`/v1/cards/${card.id}/transitions`, key, card.card_token, user.user_token);
  });

  it('a personal card: spends its funded wallet, INSUFFICIENT_FUNDS past it, CARD_NOT_ACTIVE once suspended', async () => {
    const user = await call<{ user_token: string }>('POST', '/v1/personal/users', admin_key, {
      email: 'pat@example.com',
      wallet_address: '0xabcdef0123456789',
      currency: 'USD',
      kyc_status: 'verified',
    });
    // 0.001 BTC at 30000 USD/BTC = 30.00 USD.
    await call('POST', `/v1/personal/users/${user.user_token}/deposits`, admin_key, {
      deposit_id: 'e2e-deposit-1',
      crypto_currency: 'BTC',
      crypto_amount: '0.001',
      rate: '30000',
    });
    const card = await call<{ card_token: string }>('POST', '/v1/personal/cards', admin_key, {
      user_token: user.user_token,
      card_product_token: product_token,
    });
    const personal_card = `/v1/personal/cards/${card.card_token}`;
    await waitUntil(
      async () => (await call<{ state: string }>('GET', personal_card, admin_key)).state === 'active',
    );
    // Marqeta's details, recorded by the card-issuer in place of the placeholders.
    const issued = await call<{ last_four: string }>('GET', personal_card, admin_key);
    expect(issued.last_four).toBe(stack.sim.state.cards.get(card.card_token)?.object.last_four);

    expect(approved(await purchase(card.card_token, '20.00'))).toBe(true);
    expect(declined(await purchase(card.card_token, '15.00'))).toBe('INSUFFICIENT_FUNDS');
    // A second deposit reaches the loaded real-time balance: the same purchase now passes.
    await call('POST', `/v1/personal/users/${user.user_token}/deposits`, admin_key, {
      deposit_id: 'e2e-deposit-2',
      crypto_currency: 'BTC',
      crypto_amount: '0.0005',
      rate: '30000',
    });
    expect(approved(await purchase(card.card_token, '15.00'))).toBe(true);

    await suspendAndProve(`${personal_card}/transitions`, admin_key, card.card_token, user.user_token);
  });

  it('a personal card left without its issue command (a crash between the two MongoDB writes) is issued after the sweep', async () => {
    const user = await call<{ user_token: string }>('POST', '/v1/personal/users', admin_key, {
      email: 'sam@example.com',
      wallet_address: '0xabcdef0123456789',
      currency: 'USD',
      kyc_status: 'verified',
    });
    // What POST /v1/personal/cards writes first on MongoDB, then the crash: no command.
    const card = await stack.api.personalStore.createCard(
      unissuedCard({
        card_token: `pc-crash-${randomUUID()}`.slice(0, 36),
        user_token: user.user_token,
        currency: 'USD',
        card_product_token: product_token,
      }),
    );
    const url = `/v1/personal/cards/${card.card_token}`;
    const sweep = stack.api.api.personal_issue_sweep;
    expect(
      await sweep.sweepOnce(card.created_at.getTime() + sweep.stuck_after_ms + 1_000),
    ).toBeGreaterThanOrEqual(1);
    await waitUntil(async () => (await call<{ state: string }>('GET', url, admin_key)).state === 'active', {
      message: 'the swept card issued',
    });
    expect(stack.sim.state.cards.get(card.card_token)?.object.state).toBe('ACTIVE');
    // The issuer writes Redis right after the data of record.
    await waitUntil(
      async () => (await redisCardState(user.user_token, card.card_token))?.state === 'active',
      {
        message: 'the swept card in Redis',
      },
    );
  });
});

// The card lifecycle history: the card-issuer announces the outcome of issuance (card.issued or
// card.issue.failed) after recording it, and the api consumes it into the history its route
// serves, with the api's own transitions. In this file so it shares the one stack (2 cores).
interface HistoryEntry {
  event_id: string;
  type: string;
  reason: string | null;
  details: Record<string, unknown>;
}

async function requestCard(card_product_token: string) {
  const { api_key } = await call<{ api_key: { key: string } }>('POST', '/v1/companies', admin_key, {
    name: `History ${card_product_token}`,
  });
  const user = await call<{ id: string }>('POST', '/v1/users', api_key.key, {
    email: `${card_product_token}@example.com`,
    full_name: 'Ada Employee',
  });
  const card = await call<{ id: string; card_token: string }>('POST', '/v1/cards', api_key.key, {
    user_id: user.id,
    card_product_token,
    currency: 'USD',
  });
  return { ...card, key: api_key.key };
}

async function historyOf(card: { id: string; key: string }) {
  return (await call<{ data: HistoryEntry[] }>('GET', `/v1/cards/${card.id}/events`, card.key)).data;
}

describe('card lifecycle history, end to end', () => {
  it('an issued card has exactly one card.issued entry with Marqeta last four, then its suspension; another company gets 404', async () => {
    const card = await requestCard(product_token);
    await waitUntil(async () => (await historyOf(card)).length > 0, { message: 'history entry' });

    const marqeta = stack.sim.state.cards.get(card.card_token)?.object;
    expect(await historyOf(card)).toEqual([
      expect.objectContaining({
        event_id: `${card.card_token}:issued`,
        type: 'card.issued',
        details: expect.objectContaining({ last_four: marqeta?.last_four }),
      }),
    ]);
    await call('POST', `/v1/cards/${card.id}/transitions`, card.key, { state: 'SUSPENDED', reason: 'lost' });
    expect((await historyOf(card)).map((entry) => [entry.type, entry.reason])).toEqual([
      ['card.issued', null],
      ['card.suspended', 'lost'],
    ]);
    const other = await call<{ api_key: { key: string } }>('POST', '/v1/companies', admin_key, {
      name: 'Other',
    });
    const refused = await stack.api.inject({
      url: `/v1/cards/${card.id}/events`,
      headers: bearer(other.api_key.key),
    });
    expect(refused.statusCode).toBe(404);
  });

  it('a card Marqeta refuses for good (a 4xx: unknown card product) has one card.issue.failed entry with the reason', async () => {
    const card = await requestCard('no-such-product');
    await waitUntil(async () => (await historyOf(card)).length > 0, { message: 'history entry' });

    const detail = await call<{ state: string; failure_reason: string }>(
      'GET',
      `/v1/cards/${card.id}`,
      card.key,
    );
    expect(detail.state).toBe('failed');
    expect(await historyOf(card)).toEqual([
      expect.objectContaining({
        type: 'card.issue.failed',
        reason: detail.failure_reason,
        details: expect.objectContaining({ attempts: 1, marqeta_error_code: expect.stringMatching(/^404/) }),
      }),
    ]);
  });
});
