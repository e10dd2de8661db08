import { randomUUID } from 'node:crypto';
import { buildJitRequest } from '@afc/marqeta';
import { waitUntil } from '@afc/testkit';
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

const approved = (t: SimTransaction) => t.state === 'PENDING' && t.response.code === '0000';
const declined = (t: SimTransaction) =>
  t.state === 'DECLINED' ? t.gpa_order.jit_funding.decline_reason : 'not declined';

describe('issue → controls → authorizations → suspension, end to end', () => {
  it('a business card: approvals, AMOUNT_LIMIT_EXCEEDED past the daily limit, CARD_NOT_ACTIVE once suspended', async () => {
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

    await call('POST', `/v1/cards/${card.id}/transitions`, key, { state: 'SUSPENDED', reason: 'lost' });
    // The four purchases above were decided by our gateway, not by the simulator.
    expect(stack.sim.state.gateway_logs.length).toBeGreaterThanOrEqual(4);
    const at_marqeta = await purchase(card.card_token, '1.00');
    expect(at_marqeta).toMatchObject({ state: 'DECLINED', response: { code: '1003' } });
    expect(await jitDirect(card.card_token, user.user_token)).toEqual({
      status: 402,
      decline_reason: 'CARD_NOT_ACTIVE',
    });
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
    await waitUntil(async () => (await stack.api.personalStore.getCard(card.card_token))?.state === 'active');

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

    await call('POST', `/v1/personal/cards/${card.card_token}/transitions`, admin_key, {
      state: 'SUSPENDED',
      reason: 'fraud review',
    });
    expect(await purchase(card.card_token, '1.00')).toMatchObject({
      state: 'DECLINED',
      response: { code: '1003' },
    });
    expect(await jitDirect(card.card_token, user.user_token)).toEqual({
      status: 402,
      decline_reason: 'CARD_NOT_ACTIVE',
    });
  });
});
