import { signBody } from '@afc/marqeta-sim';
import {
  card_number_arbitrary,
  hostileBody,
  sendPastShedding,
  waitUntil,
  withCardNumber,
} from '@afc/testkit';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  basic,
  basic_auth,
  type Harness,
  signature_secret,
  startWebhooks,
  webhook_password,
  webhook_username,
} from './harness.ts';

let h: Harness;
const limit_bytes = 16_384;

beforeAll(async () => {
  h = await startWebhooks({ env: { WEBHOOK_BODY_LIMIT_BYTES: String(limit_bytes) } });
  // Start-up work lags the event loop and the service sheds load for a moment (503): begin
  // once it serves, so that any 503 below is one a hostile request caused.
  await waitUntil(async () => (await h.app.inject({ method: 'GET', url: '/ready' })).statusCode === 200, {
    message: 'webhooks ready',
  });
});
afterAll(async () => h?.close());

// A delivery as Marqeta sends it: a transaction and a card transition.
const valid_body = {
  transactions: [
    {
      token: 'txn-hostile-1',
      type: 'authorization.clearing',
      state: 'COMPLETION',
      user_token: 'user-hostile-1',
      card_token: 'card-hostile-1',
      amount: 12.5,
      currency_code: 'USD',
      created_time: '2026-01-01T00:00:00Z',
      preceding_related_transaction_token: 'txn-hostile-0',
    },
  ],
  cardtransitions: [
    { token: 'ct-hostile-1', card_token: 'card-hostile-1', state: 'SUSPENDED', channel: 'API' },
  ],
};

const secret = fc.stringMatching(/^[A-Za-z0-9]{20,40}$/).map((text) => `pw-${text}`);

const credentials = fc.oneof(
  {
    arbitrary: fc.constant({
      header: basic_auth as string | undefined,
      valid: true,
      secrets: [] as string[],
    }),
    weight: 5,
  },
  fc.constant({ header: undefined, valid: false, secrets: [] }),
  secret.map((password) => ({
    header: basic(webhook_username, password),
    valid: false,
    secrets: [password],
  })),
  secret.map((token) => ({ header: `Bearer ${token}`, valid: false, secrets: [token] })),
  fc.string({ maxLength: 80 }).map((header) => ({ header, valid: false, secrets: [] })),
);

type Signing = 'valid' | 'missing' | 'other body' | 'random hex' | 'not hex' | 'sha1 length';
const signing = fc.oneof(
  { arbitrary: fc.constant<Signing>('valid'), weight: 5 },
  fc.constantFrom<Signing>('missing', 'other body', 'random hex', 'not hex', 'sha1 length'),
);

function signatureFor(kind: Signing, payload: string, noise: string): string | undefined {
  const hex = Buffer.from(noise.padEnd(32, '0').slice(0, 32)).toString('hex');
  switch (kind) {
    case 'valid':
      return signBody(payload, signature_secret, 'HMAC_SHA_256');
    case 'missing':
      return undefined;
    case 'other body':
      return signBody(`${payload} `, signature_secret, 'HMAC_SHA_256');
    case 'random hex':
      return hex;
    case 'not hex':
      return `zz${hex.slice(2)}`;
    case 'sha1 length':
      return hex.slice(0, 40);
  }
}

// Sent again while the load shedder (not the request) answers 503: see sendPastShedding.
function send(options: InjectOptions) {
  return sendPastShedding(
    () => h.app.inject(options),
    async () => (await h.app.inject({ method: 'GET', url: '/ready' })).statusCode === 200,
  );
}

// Messages the receiver published for an accepted delivery: taken off the queues, so the next
// run starts from empty ones.
async function drain(): Promise<number> {
  const count = await h.messageCount();
  if (count > 0) await h.take(count);
  return count;
}

describe('hostile deliveries to POST /v1/webhooks/marqeta', () => {
  it('are refused with 4xx and publish nothing unless authenticated and signed; never 5xx; no secret logged', async () => {
    const sent: string[] = [webhook_password, signature_secret, basic_auth.slice(6)];
    const statuses = new Set<number>();
    const requests = fc.record({
      auth: credentials,
      signing,
      noise: fc.string({ minLength: 1, maxLength: 32 }),
      body: hostileBody(valid_body),
      card_number: fc.option(card_number_arbitrary, { nil: undefined }),
      content_type: fc.constantFrom(
        'application/json',
        'application/json',
        'text/plain',
        'multipart/form-data',
      ),
    });
    await fc.assert(
      fc.asyncProperty(requests, async ({ auth, signing: kind, noise, body, card_number, content_type }) => {
        sent.push(...auth.secrets, ...(card_number === undefined ? [] : [card_number]));
        const payload = withCardNumber(body.payload, card_number);
        const signature = signatureFor(kind, payload, noise);
        const headers: Record<string, string> = { 'content-type': content_type };
        if (auth.header !== undefined) headers.authorization = auth.header;
        if (signature !== undefined) headers['x-marqeta-signature'] = signature;
        const response = await send({ method: 'POST', url: '/v1/webhooks/marqeta', headers, payload });
        const status = response.statusCode;
        statuses.add(status);
        const context = `${body.what} (${kind}): ${status} ${response.body.slice(0, 200)}`;
        expect(status, context).toBeLessThan(500);
        const published = await drain();
        if (!auth.valid) expect(status, context).toBe(401);
        if (kind !== 'valid' || status >= 400) {
          // Refused: not one event of the body reached the broker.
          expect(status, context).toBeGreaterThanOrEqual(400);
          expect(published, context).toBe(0);
        }
      }),
      { numRuns: 120 },
    );
    expect(statuses).toContain(401);
    expect(statuses).toContain(400);
    const logs = h.log_lines.join('');
    expect(sent.filter((value) => logs.includes(value))).toEqual([]);
  });

  it('413 for a body past the limit, nothing published', async () => {
    const payload = JSON.stringify({ ...valid_body, padding: 'x'.repeat(limit_bytes) });
    const response = await send({
      method: 'POST',
      url: '/v1/webhooks/marqeta',
      headers: {
        'content-type': 'application/json',
        authorization: basic_auth,
        'x-marqeta-signature': signBody(payload, signature_secret, 'HMAC_SHA_256'),
      },
      payload,
    });
    expect(response.statusCode).toBe(413);
    expect(await h.messageCount()).toBe(0);
  });
});
