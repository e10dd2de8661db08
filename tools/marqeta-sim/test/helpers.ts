import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { request } from 'undici';
import { buildMarqetaSim, type MarqetaSim, type MarqetaSimOptions, signBody } from '../src/index.ts';

export const credentials = { application_token: 'app-token-1', admin_access_token: 'admin-token-1' } as const;
export const gateway_auth = { username: 'gateway-user', password: 'gateway-password-0123456789' } as const;
export const receiver_auth = { username: 'hook-user', password: 'Hook-Password#0123456789' } as const;

export function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

export interface ApiAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Record<string, unknown>;
}

export interface StartedSim {
  readonly sim: MarqetaSim;
  readonly origin: string;
  // Calls the simulator over HTTP, with the right credentials unless told otherwise.
  api(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    body?: unknown,
    authorization?: string,
  ): Promise<ApiAnswer>;
}

export async function startSim(options: Partial<MarqetaSimOptions> = {}): Promise<StartedSim> {
  const sim = buildMarqetaSim({
    ...credentials,
    log_level: 'silent',
    webhook_delay_factor: 0.001,
    ...options,
  });
  const origin = await sim.listen();
  const api: StartedSim['api'] = async (method, path, body, authorization) => {
    const response = await request(`${origin}${path}`, {
      method,
      headers: {
        authorization: authorization ?? basic(credentials.application_token, credentials.admin_access_token),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const text = await response.body.text();
    const parsed = text.length === 0 ? {} : (JSON.parse(text) as Record<string, unknown>);
    return { status: response.statusCode, headers: response.headers, body: parsed };
  };
  return { sim, origin, api };
}

export interface SeenRequest {
  readonly headers: Record<string, string | string[] | undefined>;
  readonly raw: string;
  readonly body: Record<string, unknown>;
}

// A tiny HTTP server of the test's own, on 127.0.0.1:0, that keeps raw bodies (signatures
// are computed on the exact bytes) and answers as the test says.
export interface TinyServer {
  readonly url: string;
  readonly seen: SeenRequest[];
  answer: (seen: SeenRequest) => { status: number; body?: string } | 'hang';
  close(): Promise<void>;
}

export async function startTinyServer(path: string): Promise<TinyServer> {
  const app: FastifyInstance = Fastify({ logger: false, forceCloseConnections: true });
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, raw, done) =>
    done(null, raw),
  );
  const server: TinyServer = {
    url: '',
    seen: [],
    answer: () => ({ status: 200, body: '{}' }),
    close: () => app.close(),
  };
  app.post(path, (request, reply) => {
    const raw = String(request.body);
    const seen = { headers: request.headers, raw, body: JSON.parse(raw) as Record<string, unknown> };
    server.seen.push(seen);
    const answer = server.answer(seen);
    // A gateway that never answers: the caller's deadline must end the wait.
    if (answer === 'hang') return new Promise<never>(() => {});
    return reply
      .code(answer.status)
      .header('content-type', 'application/json')
      .send(answer.body ?? '');
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return Object.assign(server, { url: `http://127.0.0.1:${address.port}${path}` });
}

// The gpa_order.jit_funding part of a request the gateway saw.
export function jitOf(seen: SeenRequest | undefined): Record<string, unknown> {
  const gpa_order = seen?.body.gpa_order as { jit_funding?: Record<string, unknown> } | undefined;
  if (gpa_order?.jit_funding === undefined) throw new Error('no gpa_order.jit_funding in the request');
  return gpa_order.jit_funding;
}

// What the authorizer would answer: the JIT token, method, user and amount echoed.
export function echo(seen: SeenRequest, extra: Record<string, unknown> = {}): string {
  const { token, method, user_token, amount } = jitOf(seen);
  return JSON.stringify({ jit_funding: { token, method, user_token, amount, ...extra } });
}

export function signatureValid(seen: SeenRequest, secret: string, algorithm: 'HMAC_SHA_256' | 'HMAC_SHA_1') {
  const given = seen.headers['x-marqeta-signature'];
  if (typeof given !== 'string') return false;
  const expected = Buffer.from(signBody(seen.raw, secret, algorithm), 'hex');
  const actual = Buffer.from(given, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

// A user, a funding source pointing at the gateway, a JIT card product and an active card.
export async function provisionCard(
  started: StartedSim,
  gateway_url: string,
  options: { timeout_millis?: number } = {},
) {
  const suffix = Math.random().toString(36).slice(2, 10);
  const user_token = `user-${suffix}`;
  await expectCreated(
    started.api('POST', '/v3/users', { token: user_token, first_name: 'Ada', last_name: 'Lovelace' }),
  );
  const funding_source_token = `pgfs-${suffix}`;
  await expectCreated(
    started.api('POST', '/v3/fundingsources/programgateway', {
      token: funding_source_token,
      name: 'authorizer',
      url: gateway_url,
      basic_auth_username: gateway_auth.username,
      basic_auth_password: gateway_auth.password,
      custom_header: { 'x-program': 'afc' },
      ...(options.timeout_millis === undefined ? {} : { timeout_millis: options.timeout_millis }),
    }),
  );
  const card_product_token = `product-${suffix}`;
  await expectCreated(
    started.api('POST', '/v3/cardproducts', {
      token: card_product_token,
      name: 'Business JIT',
      start_date: '2026-01-01',
      config: {
        card_life_cycle: { activate_upon_issue: true },
        jit_funding: { programgateway_funding_source: { funding_source_token, enabled: true } },
      },
    }),
  );
  const card_token = `card-${suffix}`;
  await expectCreated(
    started.api('POST', '/v3/cards', { token: card_token, user_token, card_product_token }),
  );
  return { user_token, funding_source_token, card_product_token, card_token };
}

async function expectCreated(answer: Promise<ApiAnswer>): Promise<ApiAnswer> {
  const result = await answer;
  if (result.status !== 201)
    throw new Error(`expected 201, got ${result.status}: ${JSON.stringify(result.body)}`);
  return result;
}
