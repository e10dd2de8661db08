import { connect } from 'node:net';
import { signBody } from '@afc/marqeta-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { known_types } from '../src/receiver/webhook-body.ts';
import {
  basic,
  basic_auth,
  type Harness,
  signature_secret,
  startWebhooks,
  webhook_username,
} from './harness.ts';
import { metricValue } from './metric-value.ts';

let h: Harness;
const limit_bytes = 4_096;

beforeAll(async () => {
  h = await startWebhooks({ env: { WEBHOOK_BODY_LIMIT_BYTES: String(limit_bytes) } });
});
afterAll(async () => h?.close());

function signed(body: string, algorithm: 'HMAC_SHA_256' | 'HMAC_SHA_1' = 'HMAC_SHA_256') {
  return signBody(body, signature_secret, algorithm);
}

function post(body: string, headers: Record<string, string | undefined>) {
  const defined = Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== undefined));
  return h.app.inject({
    method: 'POST',
    url: '/v1/webhooks/marqeta',
    headers: { 'content-type': 'application/json', ...defined } as Record<string, string>,
    payload: body,
  });
}

function good(body: string) {
  return post(body, { authorization: basic_auth, 'x-marqeta-signature': signed(body) });
}

// Answered `status`, and the queue still empty: nothing of the body was published.
async function expectRefused(send: Promise<{ statusCode: number; json(): unknown }>, status: number) {
  const response = await send;
  expect(response.statusCode).toBe(status);
  expect(await h.messageCount()).toBe(0);
  return response.json() as { error: string };
}

const events = (prefix: string, count: number) =>
  Array.from({ length: count }, (_unused, i) => ({ token: `${prefix}-${i}`, state: 'ACTIVE' }));

describe('refused deliveries publish nothing', () => {
  it('a good body is published, so an empty queue below means nothing was', async () => {
    const body = JSON.stringify({ cardtransitions: events('control', 2) });
    expect((await good(body)).statusCode).toBe(200);
    const taken = await h.take(2);
    expect(taken.map((message) => message.message_id).sort()).toEqual(['control-0', 'control-1']);
  });

  it('transaction webhooks go to settlement only, every other type to webhook-events only; none is unroutable', async () => {
    const body: Record<string, unknown> = { newtypetransitions: events('new', 1) };
    for (const type of known_types) body[type] = events(type, 1);
    expect((await good(JSON.stringify(body))).statusCode).toBe(200);
    const taken = await h.take(known_types.length + 1);
    const queue_of = Object.fromEntries(taken.map((message) => [message.routing_key, message.queue]));
    expect(queue_of).toEqual({
      'webhook.transactions': 'settlement',
      'webhook.cardtransitions': 'webhook-events',
      'webhook.usertransitions': 'webhook-events',
      'webhook.businesstransitions': 'webhook-events',
      'webhook.unknown.newtypetransitions': 'webhook-events',
    });
  });

  it('an unknown event type is published as unknown.<key>, not dropped; one of another shape is 400', async () => {
    const body = JSON.stringify({ digitalwallettokentransitions: events('dwt', 1) });
    expect((await good(body)).statusCode).toBe(200);
    const [message] = await h.take(1);
    expect(message).toMatchObject({
      message_id: 'dwt-0',
      routing_key: 'webhook.unknown.digitalwallettokentransitions',
      payload: { type: 'unknown.digitalwallettokentransitions', event: { token: 'dwt-0', state: 'ACTIVE' } },
    });
    await expectRefused(good(JSON.stringify({ digitalwallettokentransitions: { token: 'x' } })), 400);
    await expectRefused(good(JSON.stringify({ 'card.actions': events('dot', 1) })), 400);
  });

  it('401 for missing or wrong credentials, even with a good signature', async () => {
    const body = JSON.stringify({ transactions: events('auth', 1) });
    const signature = signed(body);
    const wrong = basic(webhook_username, 'a-long-enough-webhook-password-for-testz');
    expect((await expectRefused(post(body, { 'x-marqeta-signature': signature }), 401)).error).toBe(
      'unauthorized',
    );
    await expectRefused(post(body, { authorization: wrong, 'x-marqeta-signature': signature }), 401);
    const other_user = basic(`${webhook_username}x`, 'a-long-enough-webhook-password-for-tests');
    await expectRefused(post(body, { authorization: other_user, 'x-marqeta-signature': signature }), 401);
    await expectRefused(post(body, { authorization: 'Bearer x', 'x-marqeta-signature': signature }), 401);
  });

  it('credentials are checked before the body is read: 401, not 413, for a huge unauthenticated body', async () => {
    const huge = JSON.stringify({ transactions: [{ token: 'x', pad: 'x'.repeat(limit_bytes * 2) }] });
    await expectRefused(post(huge, { authorization: 'Basic bm9ib2R5Om5vdGhpbmc=' }), 401);
  });

  it('401 for a missing, non-hex, other-algorithm, other-secret or other-bytes signature', async () => {
    const body = JSON.stringify({ transactions: events('sig', 1) });
    const auth = { authorization: basic_auth };
    const refusals = [
      undefined,
      'not-hex',
      `${signed(body).slice(0, 63)}z`,
      signed(body, 'HMAC_SHA_1'),
      signBody(body, `${signature_secret}x`, 'HMAC_SHA_256'),
      signed(body.replace('sig-0', 'sig-1')),
    ];
    for (const signature of refusals) {
      const answer = await expectRefused(post(body, { ...auth, 'x-marqeta-signature': signature }), 401);
      expect(answer.error).toBe('bad_signature');
    }
  });

  it('400 for truncated or empty JSON, 11 events, tokenless or hostile events (all signed)', async () => {
    const full = JSON.stringify({ transactions: events('t', 3) });
    const bodies = [
      full.slice(0, full.length - 7),
      '',
      JSON.stringify({ transactions: events('eleven', 11) }),
      JSON.stringify({ transactions: [{ state: 'PENDING' }] }),
      JSON.stringify({ transactions: [{ token: '{0}:card' }] }),
      JSON.stringify({ transactions: [...events('ok', 2), { token: 'a b' }] }),
      JSON.stringify({ cardtransitions: events('mixed', 2), Transactions: events('bad-key', 1) }),
      JSON.stringify({}),
    ];
    for (const body of bodies) {
      const answer = await expectRefused(good(body), 400);
      expect(['malformed_json', 'invalid_body']).toContain(answer.error);
    }
  });

  // Answered by the HTTP layer (Fastify's client error handler), before the route runs.
  it('a body cut short on the wire (fewer bytes than Content-Length) is answered 400', async () => {
    const body = JSON.stringify({ transactions: events('wire', 2) });
    const head = [
      'POST /v1/webhooks/marqeta HTTP/1.1',
      'host: 127.0.0.1',
      'content-type: application/json',
      `authorization: ${basic_auth}`,
      `x-marqeta-signature: ${signed(body)}`,
      `content-length: ${body.length}`,
      'connection: close',
    ].join('\r\n');
    const answer = await rawExchange(`${head}\r\n\r\n${body.slice(0, 20)}`);
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(await h.messageCount()).toBe(0);
  });

  it('413 for a chunked body that grows past the limit (no Content-Length to refuse it by)', async () => {
    const huge = JSON.stringify({ transactions: [{ token: 'chunked', pad: 'x'.repeat(limit_bytes) }] });
    const chunk = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
    const head = [
      'POST /v1/webhooks/marqeta HTTP/1.1',
      'host: 127.0.0.1',
      'content-type: application/json',
      `authorization: ${basic_auth}`,
      `x-marqeta-signature: ${signed(huge)}`,
      'transfer-encoding: chunked',
      'connection: close',
    ].join('\r\n');
    const half = Math.floor(huge.length / 2);
    const answer = await rawExchange(
      `${head}\r\n\r\n${chunk(huge.slice(0, half))}${chunk(huge.slice(half))}0\r\n\r\n`,
    );
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 413 Payload Too Large');
    expect(await h.messageCount()).toBe(0);
  });

  it('413 for a signed body past WEBHOOK_BODY_LIMIT_BYTES, 415 for another content type', async () => {
    const huge = JSON.stringify({ transactions: [{ token: 'big', pad: 'x'.repeat(limit_bytes) }] });
    await expectRefused(good(huge), 413);
    const body = JSON.stringify({ transactions: events('text', 1) });
    const text = post(body, {
      authorization: basic_auth,
      'x-marqeta-signature': signed(body),
      'content-type': 'text/plain',
    });
    await expectRefused(text, 415);
  });

  it('pings answer 200 and publish nothing', async () => {
    const ping = JSON.stringify({ pings: [{ token: 'marqeta', payload: 'healthcheck' }] });
    await expectRefused(good(ping), 200);
  });

  it('counts refusals by reason and never logs credentials, signatures or bodies', async () => {
    const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    const reasons = ['unauthorized', 'bad_signature', 'malformed_json', 'invalid_body', 'too_large'];
    for (const reason of [...reasons, 'unsupported_media_type']) {
      expect(metricValue(metrics, 'afc_webhook_rejected_total', { reason })).toBeGreaterThan(0);
    }
    // Two in the control delivery, one in the routing one.
    expect(metricValue(metrics, 'afc_webhook_events_total', { type: 'cardtransitions' })).toBe(3);
    expect(metricValue(metrics, 'afc_webhook_events_total', { type: 'pings' })).toBe(1);
    const logs = h.log_lines.join('');
    expect(logs).toContain('webhook refused');
    for (const secret of [basic_auth.slice(6), signature_secret, 'control-0', 'ACTIVE', 'healthcheck']) {
      expect(logs).not.toContain(secret);
    }
  });
});

// Writes bytes, ends our side (the body will never be completed) and reads the whole answer.
function rawExchange(request: string): Promise<string> {
  const url = new URL(h.url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port), allowHalfOpen: true });
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.end(request);
  });
}
