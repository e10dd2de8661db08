import { signBody } from '@afc/marqeta-sim';
import { describe, expect, it } from 'vitest';
import { basicAuthenticator } from '../src/receiver/basic-auth.ts';
import { signatureVerifier } from '../src/receiver/signature.ts';
import { parseWebhookBody } from '../src/receiver/webhook-body.ts';

const secret = 'a-webhook-signature-secret-for-tests';
const body = '{"transactions":[{"token":"t-1","state":"PENDING"}]}';
const raw = Buffer.from(body, 'utf8');

describe('signature', () => {
  it('accepts what the simulator signs, with the configured algorithm only', () => {
    const sha256 = signatureVerifier(secret, 'sha256');
    const sha1 = signatureVerifier(secret, 'sha1');
    expect(sha256(raw, signBody(body, secret, 'HMAC_SHA_256'))).toBe('valid');
    expect(sha256(raw, signBody(body, secret, 'HMAC_SHA_256').toUpperCase())).toBe('valid');
    expect(sha1(raw, signBody(body, secret, 'HMAC_SHA_1'))).toBe('valid');
    expect(sha256(raw, signBody(body, secret, 'HMAC_SHA_1'))).toBe('malformed');
    expect(sha1(raw, signBody(body, secret, 'HMAC_SHA_256'))).toBe('malformed');
  });

  it('refuses other bytes, other secrets, missing, repeated and non-hex headers', () => {
    const verify = signatureVerifier(secret, 'sha256');
    const good = signBody(body, secret, 'HMAC_SHA_256');
    expect(verify(Buffer.from(`${body} `), good)).toBe('mismatch');
    expect(verify(raw, signBody(body, `${secret}x`, 'HMAC_SHA_256'))).toBe('mismatch');
    expect(verify(raw, undefined)).toBe('missing');
    expect(verify(raw, [good, good])).toBe('malformed');
    expect(verify(raw, `${good.slice(0, 63)}g`)).toBe('malformed');
    expect(verify(raw, `sha256=${good}`)).toBe('malformed');
    expect(verify(raw, '')).toBe('malformed');
  });
});

describe('basic auth', () => {
  const authenticate = basicAuthenticator({ username: 'hooks', password: 'a-long-enough-password' });
  const header = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  it('accepts the configured pair only', () => {
    expect(authenticate(header('hooks', 'a-long-enough-password'))).toBe(true);
    expect(authenticate(header('hooks', 'a-long-enough-passwor'))).toBe(false);
    expect(authenticate(header('hook', 'a-long-enough-password'))).toBe(false);
    expect(authenticate(header('hooks:a-long-enough', 'password'))).toBe(false);
    expect(authenticate(undefined)).toBe(false);
    expect(authenticate('Bearer abc')).toBe(false);
    expect(authenticate([header('hooks', 'a-long-enough-password')])).toBe(false);
  });
});

describe('body', () => {
  const events = (count: number) => Array.from({ length: count }, (_unused, i) => ({ token: `e-${i}` }));
  const parse = (value: unknown) => parseWebhookBody(Buffer.from(JSON.stringify(value)));

  it('lists events by type in body order, unknown keys as unknown.<key>, pings apart', () => {
    const parsed = parse({ cardtransitions: events(10), chargebacktransitions: events(1), pings: events(1) });
    expect(parsed).toEqual({
      ok: true,
      pings: 1,
      events: [
        ...events(10).map((event) => ({ type: 'cardtransitions', event })),
        { type: 'unknown.chargebacktransitions', event: { token: 'e-0' } },
      ],
    });
  });

  it('refuses more than 10 events, tokenless or hostile events, bad keys, empty bodies, bad JSON', () => {
    const invalid = (value: unknown) =>
      expect(parse(value)).toMatchObject({ ok: false, reason: 'invalid_body' });
    invalid({ transactions: events(11) });
    invalid({ transactions: [] });
    invalid({ transactions: [{ state: 'PENDING' }] });
    invalid({ transactions: [{ token: '{0}:x' }] });
    invalid({ transactions: [{ token: 12 }] });
    invalid({ transactions: { token: 'x' } });
    invalid({ 'Not.A.Key': events(1) });
    invalid({ newthings: 'x' });
    invalid({});
    invalid([events(1)]);
    expect(parseWebhookBody(Buffer.from('{"transactions":[{"token":"a"}'))).toMatchObject({
      ok: false,
      reason: 'malformed_json',
    });
    expect(parseWebhookBody(Buffer.from('{"x":[{"token":"a","__proto__":{"y":1}}]}'))).toMatchObject({
      ok: false,
      reason: 'malformed_json',
    });
  });
});
