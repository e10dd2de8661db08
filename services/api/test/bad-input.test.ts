import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin_key,
  bearer,
  createCard,
  createCompany,
  createUser,
  type Harness,
  rowCounts,
  startApi,
  type Tenant,
} from './harness.ts';

let h: Harness;
let a: Tenant;
let user_id: string;
let card_id: string;

beforeAll(async () => {
  h = await startApi();
  a = await createCompany(h.app, 'A');
  user_id = (await createUser(h.app, a)).id;
  card_id = (await createCard(h.app, a, user_id)).id;
});
afterAll(async () => h.close());

interface Case {
  readonly method: 'POST' | 'PUT' | 'GET';
  readonly url: string;
  readonly payload?: unknown;
  readonly key?: string;
  readonly field: string;
}

// Each case: 400, the offending field named in `fields`, and not one row added or changed.
async function expectRejected(c: Case) {
  const before = await rowCounts(h.app);
  const response = await h.app.inject({
    method: c.method,
    url: c.url,
    headers: { ...bearer(c.key ?? a.key), 'content-type': 'application/json' },
    ...(c.payload === undefined
      ? {}
      : { payload: typeof c.payload === 'string' ? c.payload : JSON.stringify(c.payload) }),
  });
  expect(response.statusCode, `${c.method} ${c.url} ${JSON.stringify(c.payload)}`).toBe(400);
  expect(response.json().fields, JSON.stringify(c.payload)).toContain(c.field);
  expect(await rowCounts(h.app)).toEqual(before);
}

const controls = (payload: unknown, field: string): Case => ({
  method: 'PUT',
  url: `/v1/cards/${card_id}/controls`,
  payload,
  field,
});

describe('bad input: 400 naming the field, nothing written', () => {
  it('companies and keys', async () => {
    const cases: Case[] = [
      { method: 'POST', url: '/v1/companies', payload: {}, key: admin_key, field: 'body.name' },
      { method: 'POST', url: '/v1/companies', payload: { name: '' }, key: admin_key, field: 'body.name' },
      {
        method: 'POST',
        url: '/v1/companies',
        payload: { name: 'x'.repeat(201) },
        key: admin_key,
        field: 'body.name',
      },
      {
        method: 'POST',
        url: '/v1/companies',
        payload: { name: 'A', extra: 1 },
        key: admin_key,
        field: 'body.extra',
      },
      {
        method: 'POST',
        url: '/v1/companies',
        payload: { name: 'A', key_name: 3 },
        key: admin_key,
        field: 'body.key_name',
      },
      {
        method: 'POST',
        url: '/v1/companies/not-a-uuid/api-keys',
        payload: {},
        key: admin_key,
        field: 'params.id',
      },
      { method: 'GET', url: '/v1/companies/123', key: admin_key, field: 'params.id' },
    ];
    for (const c of cases) await expectRejected(c);
  });

  it('users', async () => {
    const cases: Case[] = [
      { method: 'POST', url: '/v1/users', payload: { full_name: 'A' }, field: 'body.email' },
      {
        method: 'POST',
        url: '/v1/users',
        payload: { email: 'no-at-sign', full_name: 'A' },
        field: 'body.email',
      },
      {
        method: 'POST',
        url: '/v1/users',
        payload: { email: 'a@b.c', full_name: ' ' },
        field: 'body.full_name',
      },
      {
        method: 'POST',
        url: '/v1/users',
        payload: { email: 'a@b.c', full_name: 'A', role: 'owner' },
        field: 'body.role',
      },
      { method: 'GET', url: '/v1/users/x', field: 'params.id' },
    ];
    for (const c of cases) await expectRejected(c);
  });

  it('cards', async () => {
    const good = { user_id, card_product_token: 'product-1', currency: 'USD' };
    const cases: Case[] = [
      { method: 'POST', url: '/v1/cards', payload: { ...good, user_id: 'u1' }, field: 'body.user_id' },
      { method: 'POST', url: '/v1/cards', payload: { ...good, currency: 'usd' }, field: 'body.currency' },
      {
        method: 'POST',
        url: '/v1/cards',
        payload: { ...good, card_product_token: '{0}:x' },
        field: 'body.card_product_token',
      },
      {
        method: 'POST',
        url: '/v1/cards',
        payload: { user_id, currency: 'USD' },
        field: 'body.card_product_token',
      },
      { method: 'POST', url: '/v1/cards', payload: '{"user_id": ', field: 'body' },
      { method: 'GET', url: '/v1/cards/1', field: 'params.id' },
    ];
    for (const c of cases) await expectRejected(c);
  });

  it('spending controls', async () => {
    const cases: Case[] = [
      controls({ daily_limit_minor: -1 }, 'body.daily_limit_minor'),
      controls({ daily_limit_minor: 10.5 }, 'body.daily_limit_minor'),
      controls({ per_transaction_limit_minor: '100' }, 'body.per_transaction_limit_minor'),
      controls({ monthly_count_limit: 2 ** 31 }, 'body.monthly_count_limit'),
      controls({ mcc_allow: [] }, 'body.mcc_allow'),
      controls({ mcc_block: ['581'] }, 'body.mcc_block.0'),
      controls({ blocked_countries: ['US'] }, 'body.blocked_countries.0'),
      controls({ blocked_merchant_ids: ['has space'] }, 'body.blocked_merchant_ids.0'),
      controls({ weekly_limit: 5 }, 'body.weekly_limit'),
      { method: 'PUT', url: '/v1/cards/abc/controls', payload: {}, field: 'params.id' },
    ];
    for (const c of cases) await expectRejected(c);
  });

  it('card transitions', async () => {
    const url = `/v1/cards/${card_id}/transitions`;
    const cases: Case[] = [
      { method: 'POST', url, payload: { reason: 'x' }, field: 'body.state' },
      { method: 'POST', url, payload: { state: 'suspended', reason: 'x' }, field: 'body.state' },
      { method: 'POST', url, payload: { state: 'CLOSED', reason: 'x' }, field: 'body.state' },
      { method: 'POST', url, payload: { state: 'SUSPENDED' }, field: 'body.reason' },
      { method: 'POST', url, payload: { state: 'SUSPENDED', reason: ' ' }, field: 'body.reason' },
      { method: 'POST', url, payload: { state: 'SUSPENDED', reason: 'x'.repeat(256) }, field: 'body.reason' },
      { method: 'POST', url, payload: { state: 'SUSPENDED', reason: 'x', at: 1 }, field: 'body.at' },
      {
        method: 'POST',
        url: '/v1/cards/1/transitions',
        payload: { state: 'ACTIVE', reason: 'x' },
        field: 'params.id',
      },
      {
        method: 'POST',
        url: '/v1/personal/cards/a:b/transitions',
        key: admin_key,
        payload: { state: 'ACTIVE', reason: 'x' },
        field: 'params.token',
      },
    ];
    for (const c of cases) await expectRejected(c);
  });

  it('personal users, deposits and cards', async () => {
    const user = { email: 'p@example.com', wallet_address: '0xabcdef0123456789', currency: 'USD' };
    const personal = (payload: unknown, field: string): Case => ({
      method: 'POST',
      url: '/v1/personal/users',
      key: admin_key,
      payload,
      field,
    });
    const created = await h.app.inject({
      method: 'POST',
      url: '/v1/personal/users',
      headers: bearer(admin_key),
      payload: user,
    });
    const user_token = created.json<{ user_token: string }>().user_token;
    const good = { deposit_id: 'dep-1', crypto_currency: 'BTC', crypto_amount: '0.5', rate: '60000' };
    const deposit = (payload: unknown, field: string): Case => ({
      method: 'POST',
      url: `/v1/personal/users/${user_token}/deposits`,
      key: admin_key,
      payload,
      field,
    });
    const cases: Case[] = [
      personal({ ...user, email: 'nope' }, 'body.email'),
      personal({ ...user, currency: 'usd' }, 'body.currency'),
      personal({ ...user, wallet_address: 'short' }, 'body.wallet_address'),
      personal({ ...user, kyc_status: 'approved' }, 'body.kyc_status'),
      deposit({ ...good, deposit_id: 'has space' }, 'body.deposit_id'),
      deposit({ ...good, crypto_amount: 0.5 }, 'body.crypto_amount'),
      deposit({ ...good, crypto_amount: '1e3' }, 'body.crypto_amount'),
      deposit({ ...good, crypto_amount: '-1' }, 'body.crypto_amount'),
      deposit({ ...good, crypto_amount: '0.0' }, 'body.crypto_amount'),
      deposit({ ...good, rate: '1,5' }, 'body.rate'),
      deposit({ ...good, rate: '0' }, 'body.rate'),
      deposit({ ...good, crypto_currency: 'btc' }, 'body.crypto_currency'),
      deposit({ ...good, credited_minor: '3000000' }, 'body.credited_minor'),
      deposit({ ...good, credited_minor: 1.5 }, 'body.credited_minor'),
      deposit({ deposit_id: 'dep-1', crypto_amount: '1', rate: '1' }, 'body.crypto_currency'),
      {
        method: 'POST',
        url: '/v1/personal/cards',
        key: admin_key,
        payload: { user_token, card_product_token: '{0}' },
        field: 'body.card_product_token',
      },
      { method: 'GET', url: '/v1/personal/users/a%20b', key: admin_key, field: 'params.token' },
    ];
    for (const c of cases) await expectRejected(c);
  });
});
