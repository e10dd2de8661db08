import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactUrl, withMessageId, withRequestId } from '../src/index.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(String(chunk));
      callback();
    },
  });
  return { lines, destination };
}

const secrets = {
  pan: '4111111111111111',
  cvv: '123',
  cvv_number: '987',
  pin: '4321',
  password: 'hunter2-very-secret-password',
  basic: 'Basic dXNlcjpzM2NyZXQtcGFzc3dvcmQ=',
  bearer: 'Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig',
  secret: 'whsec_0123456789abcdef',
  access_token: 'admin-access-token-0123456789',
  api_key: 'afc_live_key_abcdefghijklmnop',
  signature: 'a3f1c0ffee',
};

// Shaped as Marqeta sends it and as Fastify logs requests: secrets at many depths, in arrays.
const marqeta_like = {
  req: {
    method: 'POST',
    url: '/v1/jit',
    headers: {
      authorization: secrets.basic,
      'x-marqeta-signature': secrets.signature,
      'proxy-authorization': secrets.bearer,
    },
  },
  body: {
    token: 'txn-1',
    card: { pan: secrets.pan, cvv_number: secrets.cvv_number, last_four: '1111' },
    gpa_order: { jit_funding: { token: 'jit-1', amount: 1.91 }, funding: { source: { pin: secrets.pin } } },
    transactions: [{ card: { pan: secrets.pan, cvv: secrets.cvv }, user: { password: secrets.password } }],
  },
  config: { marqeta: { admin_access_token: secrets.access_token, webhook_secret: secrets.secret } },
  api_key: secrets.api_key,
  password: secrets.password,
  access_token: secrets.access_token,
};

describe('createLogger', () => {
  it('writes JSON with level label, service and time', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ name: 'unit', destination });
    logger.info({ answer: 42 }, 'hello');
    const line = JSON.parse(lines[0] ?? '{}');
    expect(line).toMatchObject({ level: 'info', service: 'unit', answer: 42, msg: 'hello' });
    expect(typeof line.time).toBe('string');
  });

  it('never lets a secret value reach the output, however deep', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ name: 'unit', destination });
    logger.info(marqeta_like, 'incoming');
    logger.error({ err: new Error('boom'), ...marqeta_like }, 'failed');
    const output = lines.join('');
    expect(lines).toHaveLength(2);
    for (const value of Object.values(secrets)) expect(output).not.toContain(value);
    // Non-secret fields stay readable.
    expect(output).toContain('last_four');
    expect(output).toContain('jit-1');
    expect(output).toContain('[redacted]');
  });

  it('redacts without changing the logged objects, keeps errors readable, survives cycles', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ name: 'unit', destination });
    const logged = structuredClone(marqeta_like);
    const error = Object.assign(new Error('upstream refused'), { config: { password: secrets.password } });
    const cyclic: Record<string, unknown> = { name: 'loop', api_key: secrets.api_key };
    cyclic.self = cyclic;
    logger.error({ err: error, body: logged.body, cyclic }, 'failed');
    logger.child({ request_id: 'req-1' }).child({ secret: secrets.secret }).warn('grandchild');
    const output = lines.join('');
    // Short secrets (a CVV of 123) could match a line number of the stack: the long ones tell.
    for (const value of Object.values(secrets).filter((v) => v.length >= 8)) {
      expect(output).not.toContain(value);
    }
    expect(logged).toEqual(marqeta_like);
    expect(error.config.password).toBe(secrets.password);
    const line = JSON.parse(lines[0] ?? '{}');
    expect(line.err).toMatchObject({
      type: 'Error',
      message: 'upstream refused',
      config: { password: '[redacted]' },
    });
    expect(line.err.stack).toContain('upstream refused');
    expect(JSON.parse(lines[1] ?? '{}')).toMatchObject({ request_id: 'req-1', secret: '[redacted]' });
  });

  it('tags lines with request and message ids', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ name: 'unit', destination });
    withRequestId(logger, 'req-1').info('a');
    withMessageId(logger, 'msg-1').info('b');
    withRequestId(logger).info('c');
    expect(JSON.parse(lines[0] ?? '{}').request_id).toBe('req-1');
    expect(JSON.parse(lines[1] ?? '{}').message_id).toBe('msg-1');
    expect(JSON.parse(lines[2] ?? '{}').request_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('strips passwords from URLs', () => {
    expect(redactUrl('amqp://guest:guest-pass@127.0.0.1:5672')).toBe('amqp://guest:***@127.0.0.1:5672');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redactUrl('not a url')).toBe('[unparseable url]');
  });
});
