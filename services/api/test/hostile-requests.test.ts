import { createHash } from 'node:crypto';
import {
  card_number_arbitrary,
  hostileBody,
  hostileValue,
  sendPastShedding,
  withCardNumber,
} from '@afc/testkit';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin_key,
  createCard,
  createCompany,
  createUser,
  type Harness,
  rowCounts,
  startApi,
  type Tenant,
} from './harness.ts';

let h: Harness;
let tenant: Tenant;
let user_id: string;
let card_id: string;

beforeAll(async () => {
  // Far above what the run sends: a 429 is a fine answer, but it would hide the validation.
  h = await startApi({ API_RATE_LIMIT_PER_MINUTE: '100000' });
  tenant = await createCompany(h.app, 'Hostile Co');
  user_id = (await createUser(h.app, tenant)).id;
  card_id = (await createCard(h.app, tenant, user_id)).id;
});
afterAll(async () => h?.close());

// Every key under the test's prefix with its value, but the rate limiter's counters (every
// request counts, refused or not): equal digests, nothing written to Redis. (Through the app's
// client: SCAN patterns carry the prefix, other commands get it added.)
async function redisDigest(): Promise<string> {
  const redis = h.app.redis;
  const prefix = h.redis_prefix.prefix;
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch.filter((key) => !key.startsWith(`${prefix}api-rate-limit:`)));
  } while (cursor !== '0');
  // SCAN may return a key twice (when the table is resized meanwhile): count each once.
  const unique = [...new Set(keys)].sort();
  const hash = createHash('sha256');
  for (const key of unique)
    hash.update(key).update((await redis.dumpBuffer(key.slice(prefix.length))) ?? Buffer.alloc(0));
  return `${unique.length}:${hash.digest('hex')}`;
}

type Key = 'admin' | 'tenant';

interface Route {
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly url: () => string;
  readonly key: Key;
  readonly body?: () => unknown;
}

// A representative set: create company, user, card, personal user; controls; transitions;
// transactions listing (its query is made hostile below).
const routes: readonly Route[] = [
  { method: 'POST', url: () => '/v1/companies', key: 'admin', body: () => ({ name: 'Other Co' }) },
  {
    method: 'POST',
    url: () => '/v1/users',
    key: 'tenant',
    body: () => ({ email: 'someone@example.com', full_name: 'Some One' }),
  },
  {
    method: 'POST',
    url: () => '/v1/cards',
    key: 'tenant',
    body: () => ({ user_id, card_product_token: 'product-1', currency: 'USD' }),
  },
  {
    method: 'PUT',
    url: () => `/v1/cards/${card_id}/controls`,
    key: 'tenant',
    body: () => ({ daily_limit_minor: 50_000, mcc_block: ['7995'], blocked_countries: ['PRK'] }),
  },
  {
    method: 'POST',
    url: () => `/v1/cards/${card_id}/transitions`,
    key: 'tenant',
    body: () => ({ state: 'SUSPENDED', reason: 'lost' }),
  },
  { method: 'GET', url: () => `/v1/cards/${card_id}/transactions?limit=10`, key: 'tenant' },
  {
    method: 'POST',
    url: () => '/v1/personal/users',
    key: 'admin',
    body: () => ({
      email: 'pat@example.com',
      wallet_address: '0xabcdef0123456789',
      currency: 'USD',
      kyc_status: 'verified',
    }),
  },
];

const secret = fc.stringMatching(/^[A-Za-z0-9]{24,40}$/).map((text) => `key-${text}`);

const credentials = fc.oneof(
  { arbitrary: fc.constant({ kind: 'valid' as const, secrets: [] as string[] }), weight: 5 },
  fc.constant({ kind: 'missing' as const, secrets: [] }),
  secret.map((key) => ({ kind: 'wrong' as const, header: `Bearer ${key}`, secrets: [key] })),
  secret.map((password) => ({
    kind: 'wrong' as const,
    header: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`,
    secrets: [password],
  })),
  fc.string({ maxLength: 80 }).map((header) => ({ kind: 'wrong' as const, header, secrets: [] })),
);

// What varies besides the body: an id in the path or the listing's query.
const twist = fc.oneof(
  { arbitrary: fc.constant<{ path?: string; query?: string }>({}), weight: 4 },
  hostileValue().map((value) => ({ path: encodeURIComponent(JSON.stringify(value) ?? 'x').slice(0, 2_000) })),
  fc.record({ limit: hostileValue(), cursor: hostileValue() }).map((query) => ({
    query: new URLSearchParams({
      limit: String(JSON.stringify(query.limit)).slice(0, 500),
      cursor: String(JSON.stringify(query.cursor)).slice(0, 500),
    }).toString(),
  })),
);

function urlOf(route: Route, twisted: { path?: string; query?: string }): string {
  let url = route.url();
  if (twisted.path !== undefined)
    url = url.replace(card_id, twisted.path).replace('/v1/users', `/v1/users/${twisted.path}`);
  if (twisted.query !== undefined) url = `${url.split('?')[0]}?${twisted.query}`;
  return url;
}

// Sent again while the load shedder (not the request) answers 503: see sendPastShedding.
function send(options: InjectOptions) {
  return sendPastShedding(
    () => h.app.inject(options),
    async () => (await h.app.inject({ method: 'GET', url: '/ready' })).statusCode === 200,
  );
}

describe('hostile requests to the control plane', () => {
  it('answer 4xx (or succeed when still valid and authenticated), never 5xx; a refusal changes nothing; no secret logged', async () => {
    const sent: string[] = [admin_key, tenant.key];
    const statuses = new Set<number>();
    const routed = fc.constantFrom(...routes).chain((route) => {
      const valid_body = route.body?.();
      return fc.record({
        route: fc.constant(route),
        body: valid_body === undefined ? fc.constant(undefined) : hostileBody(valid_body),
      });
    });
    const requests = fc.record({
      routed,
      auth: credentials,
      twist,
      card_number: fc.option(card_number_arbitrary, { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(requests, async ({ routed: { route, body }, auth, twist: twisted, card_number }) => {
        sent.push(...auth.secrets, ...(card_number === undefined ? [] : [card_number]));
        const payload = body === undefined ? undefined : withCardNumber(body.payload, card_number);
        const key = route.key === 'admin' ? admin_key : tenant.key;
        const authorization =
          auth.kind === 'valid' ? `Bearer ${key}` : auth.kind === 'wrong' ? auth.header : undefined;
        const rows_before = await rowCounts(h.app);
        const redis_before = await redisDigest();
        const response = await send({
          method: route.method,
          url: urlOf(route, twisted),
          headers: {
            'content-type': 'application/json',
            ...(authorization === undefined ? {} : { authorization }),
          },
          ...(payload === undefined ? {} : { payload }),
        });
        const status = response.statusCode;
        statuses.add(status);
        const context = `${route.method} ${urlOf(route, twisted)} ${body?.what ?? ''}: ${status} ${response.body.slice(0, 200)}`;
        expect(status, context).toBeLessThan(500);
        // Without the right key: refused (401, or earlier by the router: no such route, a path
        // parameter past its length limit, an empty JSON body).
        if (auth.kind !== 'valid') expect(status, context).toBeGreaterThanOrEqual(400);
        if (status >= 400) {
          expect(await rowCounts(h.app), context).toEqual(rows_before);
          expect(await redisDigest(), context).toBe(redis_before);
        }
      }),
      { numRuns: 200 },
    );
    expect(statuses).toContain(401);
    expect(statuses).toContain(400);
    const logs = h.log_lines.join('');
    expect(sent.filter((value) => logs.includes(value))).toEqual([]);
  });

  it('413 for a body past the limit, nothing written', async () => {
    const rows_before = await rowCounts(h.app);
    const response = await send({
      method: 'POST',
      url: '/v1/users',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.key}` },
      payload: JSON.stringify({ email: 'big@example.com', full_name: 'x'.repeat(2_000_000) }),
    });
    expect(response.statusCode).toBe(413);
    expect(await rowCounts(h.app)).toEqual(rows_before);
  });
});
