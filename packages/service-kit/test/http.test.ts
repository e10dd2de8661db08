import { Type } from '@sinclair/typebox';
import { afterEach, describe, expect, it } from 'vitest';
import type { Service } from '../src/index.ts';
import { type CapturedLogger, testService } from './helpers.ts';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const card_number = '4111111111111111';
const basic_credentials = 'Basic YWZjLWppdDpzM2NyZXQtamppdC1wYXNzd29yZA==';

let app: Service | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

const JitBody = Type.Object({
  token: Type.String({ minLength: 1 }),
  amount: Type.Number({ minimum: 0 }),
});

// A service as the authorizer would be: a validated body, a route with a parameter, and routes
// that fail the ways real handlers fail.
async function serviceWithRoutes(): Promise<{ app: Service } & CapturedLogger> {
  const service = await testService({ body_limit_bytes: 1_024 });
  service.app.post('/v1/jit', { schema: { body: JitBody } }, async (request) => ({ received: request.body }));
  service.app.get('/cards/:token', async () => ({ ok: true }));
  service.app.post('/frozen', async () => {
    throw Object.assign(new Error('card is frozen'), { statusCode: 409 });
  });
  service.app.post('/explode', async () => {
    throw new Error('pool exhausted connecting as afc_app (internal detail)');
  });
  return service;
}

function linesWith(captured: CapturedLogger, msg: string): Record<string, unknown>[] {
  return captured.lines().filter((line) => line.msg === msg);
}

describe('request ids', () => {
  it('adopts a sane incoming x-request-id, echoes it and logs with it', async () => {
    const service = await serviceWithRoutes();
    app = service.app;
    const response = await app.inject({
      method: 'GET',
      url: '/cards/c-1',
      headers: { 'x-request-id': 'lb-7f3a.42' },
    });
    expect(response.headers['x-request-id']).toBe('lb-7f3a.42');
    expect(linesWith(service, 'request completed')).toEqual([
      expect.objectContaining({ request_id: 'lb-7f3a.42' }),
    ]);
  });

  it('generates a UUID when the header is missing or not a sane token', async () => {
    const service = await serviceWithRoutes();
    app = service.app;
    const insane = ['has spaces', 'a'.repeat(129), '{"injected":true}', 'line\\nbreak'];
    const responses = [await app.inject({ method: 'GET', url: '/cards/c-1' })];
    for (const value of insane) {
      responses.push(
        await app.inject({ method: 'GET', url: '/cards/c-1', headers: { 'x-request-id': value } }),
      );
    }
    const ids = responses.map((response) => String(response.headers['x-request-id']));
    for (const id of ids) expect(id).toMatch(uuid);
    expect(new Set(ids).size).toBe(ids.length);
    const logged = linesWith(service, 'request completed').map((line) => line.request_id);
    expect(logged).toEqual(ids);
  });
});

describe('request log', () => {
  it('is one compact line per request: method, route pattern, status, duration; no URL or headers', async () => {
    const service = await serviceWithRoutes();
    app = service.app;
    await app.inject({
      method: 'GET',
      url: '/cards/card-token-123?secret_query=leak-me',
      headers: { authorization: basic_credentials },
    });
    const [line, ...others] = linesWith(service, 'request completed');
    expect(others).toEqual([]);
    expect(line).toMatchObject({ method: 'GET', route: '/cards/:token', status_code: 200, level: 'info' });
    expect(typeof line?.duration_ms).toBe('number');
    const raw = service.raw();
    for (const leak of ['leak-me', 'card-token-123', basic_credentials, 'authorization']) {
      expect(raw).not.toContain(leak);
    }
  });
});

describe('errors', () => {
  it('answers a validation failure with 400 naming the field, and echoes no value', async () => {
    ({ app } = await serviceWithRoutes());
    const wrong_type = await app.inject({
      method: 'POST',
      url: '/v1/jit',
      payload: { token: 't-1', amount: 'lots' },
    });
    expect(wrong_type.statusCode).toBe(400);
    expect(wrong_type.json()).toMatchObject({ error: 'bad_request', fields: ['body.amount'] });
    expect(wrong_type.json().message).toContain('body.amount');
    expect(wrong_type.body).not.toContain('lots');

    const missing = await app.inject({ method: 'POST', url: '/v1/jit', payload: { amount: 5 } });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ error: 'bad_request', fields: ['body.token'] });
  });

  it('tolerates and keeps fields the schema does not name (Marqeta adds fields without notice)', async () => {
    ({ app } = await serviceWithRoutes());
    const payload = {
      token: 't-1',
      amount: 5,
      network: 'VISA',
      gpa_order: { jit_funding: { method: 'pgfs' } },
    };
    const response = await app.inject({ method: 'POST', url: '/v1/jit', payload });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ received: payload });
  });

  it('passes a thrown 4xx through with its status and message', async () => {
    ({ app } = await serviceWithRoutes());
    const response = await app.inject({ method: 'POST', url: '/frozen' });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toEqual({ error: 'conflict', message: 'card is frozen' });
  });

  it("answers Fastify's own 4xx (malformed JSON, body too large) in the same shape", async () => {
    ({ app } = await serviceWithRoutes());
    const headers = { 'content-type': 'application/json' };
    const malformed = await app.inject({
      method: 'POST',
      url: '/v1/jit',
      headers,
      payload: `{"pan":"${card_number}"`,
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error).toBe('bad_request');
    expect(malformed.body).not.toContain(card_number);
    const huge = await app.inject({
      method: 'POST',
      url: '/v1/jit',
      headers,
      payload: { token: 'x'.repeat(2_000) },
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error).toBe('payload_too_large');
  });

  it('answers a 5xx generically and logs the error with the request id, never headers or body', async () => {
    const service = await serviceWithRoutes();
    app = service.app;
    const response = await app.inject({
      method: 'POST',
      url: '/explode',
      headers: { authorization: basic_credentials, 'x-request-id': 'req-500' },
      // Under a key the logger does not know: only not logging bodies at all keeps it out.
      payload: { account_reference: card_number, token: 't-1' },
    });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({ error: 'internal_error', request_id: 'req-500' });
    expect(response.body).not.toContain('pool exhausted');

    const [failure, ...more] = linesWith(service, 'request failed');
    expect(more).toEqual([]);
    expect(failure).toMatchObject({ level: 'error', request_id: 'req-500', status_code: 500 });
    expect(failure?.err).toMatchObject({
      message: expect.stringContaining('pool exhausted'),
      stack: expect.any(String),
    });
    const raw = service.raw();
    for (const leak of [card_number, basic_credentials, 'authorization', 'account_reference']) {
      expect(raw).not.toContain(leak);
    }
  });

  it('answers an unknown route with a JSON 404', async () => {
    ({ app } = await serviceWithRoutes());
    const response = await app.inject({ method: 'GET', url: '/nope?token=abc' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: 'not_found', message: 'no such route' });
  });
});
