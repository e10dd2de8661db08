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
import { createPersonalUser } from './sim.ts';

// Every route of the API, each checked for the three promises: another tenant (or the
// wrong kind of key) gets nothing, bad input is a 400 naming the field, and past the rate limit
// a 429 with Retry-After; none of them writes anything. The table must list every route of the
// OpenAPI document, so a new route cannot skip these checks.

const rate_limit_per_minute = 5;
let h: Harness;
let a: Tenant;
let b: Tenant;
let user_id: string;
let card_id: string;
let personal_user: string;
let personal_card: string;

beforeAll(async () => {
  h = await startApi({ API_RATE_LIMIT_PER_MINUTE: String(rate_limit_per_minute) });
  a = await createCompany(h.app, 'A');
  b = await createCompany(h.app, 'B');
  await resetRateLimits();
  user_id = (await createUser(h.app, a)).id;
  card_id = (await createCard(h.app, a, user_id)).id;
  await resetRateLimits();
  personal_user = (await createPersonalUser(h.app, 'verified')).user_token;
  const created = await h.app.inject({
    method: 'POST',
    url: '/v1/personal/cards',
    headers: bearer(admin_key),
    payload: { user_token: personal_user, card_product_token: 'product-1' },
  });
  personal_card = created.json<{ card_token: string }>().card_token;
});
afterAll(async () => h.close());

// The limiter's counters (in Redis, under this test's key prefix), so each check starts afresh.
async function resetRateLimits(): Promise<void> {
  const prefix = h.redis_prefix.prefix;
  let cursor = '0';
  do {
    const [next, keys] = await h.app.redis.scan(cursor, 'MATCH', `${prefix}api-rate-limit:*`, 'COUNT', 1000);
    cursor = next;
    // The client adds its key prefix itself.
    if (keys.length > 0) await h.app.redis.del(...keys.map((key) => key.slice(prefix.length)));
  } while (cursor !== '0');
}

interface Request {
  readonly url: string;
  readonly key: string | undefined;
  readonly payload?: unknown;
}

interface RouteCase {
  readonly method: 'GET' | 'POST' | 'PUT';
  // As in the OpenAPI document.
  readonly path: string;
  // Another company's key, or a key of the wrong kind, on this tenant's resource.
  readonly isolation: () => Request & { readonly status: 403 | 404 };
  readonly bad: () => Request & { readonly field: string };
}

const controls = { daily_limit_minor: 5_000 };
const transition = { state: 'SUSPENDED', reason: 'lost' };
const deposit = { deposit_id: 'd-1', crypto_currency: 'BTC', crypto_amount: '0.001', rate: '30000' };

const routes: readonly RouteCase[] = [
  {
    method: 'POST',
    path: '/v1/companies',
    isolation: () => ({ url: '/v1/companies', key: a.key, payload: { name: 'Mine' }, status: 403 }),
    bad: () => ({ url: '/v1/companies', key: admin_key, payload: { name: '' }, field: 'body.name' }),
  },
  {
    method: 'GET',
    path: '/v1/companies/{id}',
    isolation: () => ({ url: `/v1/companies/${a.company_id}`, key: b.key, status: 404 }),
    bad: () => ({ url: '/v1/companies/123', key: a.key, field: 'params.id' }),
  },
  {
    method: 'POST',
    path: '/v1/companies/{id}/api-keys',
    // Only the platform admin makes keys, even for the key's own company.
    isolation: () => ({
      url: `/v1/companies/${a.company_id}/api-keys`,
      key: a.key,
      payload: {},
      status: 403,
    }),
    bad: () => ({ url: '/v1/companies/x/api-keys', key: admin_key, payload: {}, field: 'params.id' }),
  },
  {
    method: 'POST',
    path: '/v1/users',
    // The admin key never acts as an employer.
    isolation: () => ({
      url: '/v1/users',
      key: admin_key,
      payload: { email: 'x@example.com', full_name: 'X' },
      status: 403,
    }),
    bad: () => ({ url: '/v1/users', key: a.key, payload: { full_name: 'A' }, field: 'body.email' }),
  },
  {
    method: 'GET',
    path: '/v1/users/{id}',
    isolation: () => ({ url: `/v1/users/${user_id}`, key: b.key, status: 404 }),
    bad: () => ({ url: '/v1/users/x', key: a.key, field: 'params.id' }),
  },
  {
    method: 'GET',
    path: '/v1/users/{id}/transactions',
    isolation: () => ({ url: `/v1/users/${user_id}/transactions`, key: b.key, status: 404 }),
    bad: () => ({ url: `/v1/users/${user_id}/transactions?limit=0`, key: a.key, field: 'querystring.limit' }),
  },
  {
    method: 'POST',
    path: '/v1/cards',
    isolation: () => ({
      url: '/v1/cards',
      key: b.key,
      payload: { user_id, card_product_token: 'product-1', currency: 'USD' },
      status: 404,
    }),
    bad: () => ({
      url: '/v1/cards',
      key: a.key,
      payload: { user_id, card_product_token: 'product-1', currency: 'usd' },
      field: 'body.currency',
    }),
  },
  {
    method: 'GET',
    path: '/v1/cards/{id}',
    isolation: () => ({ url: `/v1/cards/${card_id}`, key: b.key, status: 404 }),
    bad: () => ({ url: '/v1/cards/1', key: a.key, field: 'params.id' }),
  },
  {
    method: 'PUT',
    path: '/v1/cards/{id}/controls',
    isolation: () => ({ url: `/v1/cards/${card_id}/controls`, key: b.key, payload: controls, status: 404 }),
    bad: () => ({
      url: `/v1/cards/${card_id}/controls`,
      key: a.key,
      payload: { daily_limit_minor: -1 },
      field: 'body.daily_limit_minor',
    }),
  },
  {
    method: 'GET',
    path: '/v1/cards/{id}/controls',
    isolation: () => ({ url: `/v1/cards/${card_id}/controls`, key: b.key, status: 404 }),
    bad: () => ({ url: '/v1/cards/1/controls', key: a.key, field: 'params.id' }),
  },
  {
    method: 'GET',
    path: '/v1/cards/{id}/transactions',
    isolation: () => ({ url: `/v1/cards/${card_id}/transactions`, key: b.key, status: 404 }),
    bad: () => ({
      url: `/v1/cards/${card_id}/transactions?limit=1000`,
      key: a.key,
      field: 'querystring.limit',
    }),
  },
  {
    method: 'GET',
    path: '/v1/cards/{id}/events',
    isolation: () => ({ url: `/v1/cards/${card_id}/events`, key: b.key, status: 404 }),
    bad: () => ({ url: '/v1/cards/not-a-card/events', key: a.key, field: 'params.id' }),
  },
  {
    method: 'POST',
    path: '/v1/cards/{id}/transitions',
    isolation: () => ({
      url: `/v1/cards/${card_id}/transitions`,
      key: b.key,
      payload: transition,
      status: 404,
    }),
    bad: () => ({
      url: `/v1/cards/${card_id}/transitions`,
      key: a.key,
      payload: { state: 'FROZEN', reason: 'x' },
      field: 'body.state',
    }),
  },
  {
    method: 'POST',
    path: '/v1/personal/users',
    isolation: () => ({
      url: '/v1/personal/users',
      key: a.key,
      payload: { email: 'p@example.com', wallet_address: '0xabcdef0123456789', currency: 'USD' },
      status: 403,
    }),
    bad: () => ({
      url: '/v1/personal/users',
      key: admin_key,
      payload: { email: 'p@example.com', wallet_address: 'short', currency: 'USD' },
      field: 'body.wallet_address',
    }),
  },
  {
    method: 'GET',
    path: '/v1/personal/users/{token}',
    isolation: () => ({ url: `/v1/personal/users/${personal_user}`, key: a.key, status: 403 }),
    bad: () => ({ url: '/v1/personal/users/a%20b', key: admin_key, field: 'params.token' }),
  },
  {
    method: 'POST',
    path: '/v1/personal/users/{token}/deposits',
    isolation: () => ({
      url: `/v1/personal/users/${personal_user}/deposits`,
      key: a.key,
      payload: deposit,
      status: 403,
    }),
    bad: () => ({
      url: `/v1/personal/users/${personal_user}/deposits`,
      key: admin_key,
      payload: { ...deposit, rate: 30000 },
      field: 'body.rate',
    }),
  },
  {
    method: 'POST',
    path: '/v1/personal/cards',
    isolation: () => ({
      url: '/v1/personal/cards',
      key: a.key,
      payload: { user_token: personal_user, card_product_token: 'product-1' },
      status: 403,
    }),
    bad: () => ({
      url: '/v1/personal/cards',
      key: admin_key,
      payload: { user_token: personal_user },
      field: 'body.card_product_token',
    }),
  },
  {
    method: 'GET',
    path: '/v1/personal/cards/{token}',
    isolation: () => ({ url: `/v1/personal/cards/${personal_card}`, key: a.key, status: 403 }),
    bad: () => ({ url: '/v1/personal/cards/a%20b', key: admin_key, field: 'params.token' }),
  },
  {
    method: 'POST',
    path: '/v1/personal/cards/{token}/transitions',
    isolation: () => ({
      url: `/v1/personal/cards/${personal_card}/transitions`,
      key: a.key,
      payload: transition,
      status: 403,
    }),
    bad: () => ({
      url: `/v1/personal/cards/${personal_card}/transitions`,
      key: admin_key,
      payload: { state: 'SUSPENDED', reason: ' ' },
      field: 'body.reason',
    }),
  },
  {
    method: 'GET',
    path: '/v1/personal/cards/{token}/events',
    isolation: () => ({ url: `/v1/personal/cards/${personal_card}/events`, key: a.key, status: 403 }),
    bad: () => ({ url: '/v1/personal/cards/a%20b/events', key: admin_key, field: 'params.token' }),
  },
  {
    method: 'GET',
    path: '/v1/personal/cards/{token}/transactions',
    isolation: () => ({ url: `/v1/personal/cards/${personal_card}/transactions`, key: a.key, status: 403 }),
    bad: () => ({
      url: `/v1/personal/cards/${personal_card}/transactions?limit=101`,
      key: admin_key,
      field: 'querystring.limit',
    }),
  },
  {
    method: 'GET',
    path: '/v1/personal/users/{token}/transactions',
    isolation: () => ({ url: `/v1/personal/users/${personal_user}/transactions`, key: a.key, status: 403 }),
    bad: () => ({
      url: `/v1/personal/users/${personal_user}/transactions?cursor=not*a*cursor`,
      key: admin_key,
      field: 'querystring.cursor',
    }),
  },
];

function send(method: RouteCase['method'], request: Request) {
  return h.app.inject({
    method,
    url: request.url,
    headers: {
      ...(request.key === undefined ? {} : bearer(request.key)),
      ...(request.payload === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(request.payload === undefined ? {} : { payload: JSON.stringify(request.payload) }),
  });
}

// The response, and that not one row of the data of record changed.
async function sendChangingNothing(method: RouteCase['method'], request: Request) {
  await resetRateLimits();
  const before = await rowCounts(h.app);
  const response = await send(method, request);
  expect(await rowCounts(h.app), `${method} ${request.url} wrote something`).toEqual(before);
  return response;
}

describe('every route', () => {
  it('is in the table (the OpenAPI document lists no other)', async () => {
    const document = (await h.app.inject({ url: '/documentation/json' })).json<{
      paths: Record<string, Record<string, unknown>>;
    }>();
    const documented = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes.map((route) => `${route.method} ${route.path}`).sort()).toEqual(documented.sort());
  });

  for (const route of routes) {
    describe(`${route.method} ${route.path}`, () => {
      it('needs a key (401), keeps other tenants and the wrong kind of key out, writes nothing', async () => {
        const isolation = route.isolation();
        const anonymous = await sendChangingNothing(route.method, { ...isolation, key: undefined });
        expect(anonymous.statusCode).toBe(401);
        const refused = await sendChangingNothing(route.method, isolation);
        expect(refused.statusCode, refused.body).toBe(isolation.status);
      });

      it('answers bad input with 400 naming the field, writes nothing', async () => {
        const bad = route.bad();
        const response = await sendChangingNothing(route.method, bad);
        expect(response.statusCode, response.body).toBe(400);
        expect(response.json().fields, response.body).toContain(bad.field);
      });

      it('answers 429 with Retry-After past the rate limit, writes nothing', async () => {
        const bad = route.bad();
        await resetRateLimits();
        for (let i = 0; i < rate_limit_per_minute; i += 1) {
          expect((await send(route.method, bad)).statusCode).toBe(400);
        }
        const before = await rowCounts(h.app);
        const limited = await send(route.method, bad);
        expect(limited.statusCode, limited.body).toBe(429);
        expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
        expect(await rowCounts(h.app)).toEqual(before);
      });
    });
  }
});
