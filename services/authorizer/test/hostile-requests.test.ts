import {
  card_number_arbitrary,
  hostileBody,
  localServiceUrls,
  sendPastShedding,
  waitUntil,
  withCardNumber,
} from '@afc/testkit';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  basic_auth,
  type Harness,
  jit_password,
  jit_username,
  jitBody,
  postJit,
  startAuthorizer,
} from './harness.ts';
import { redisSnapshot } from './redis-snapshot.ts';
import { type SeededCard, seedBusinessCard } from './seed.ts';

let h: Harness;
let active: SeededCard;
let suspended: SeededCard;

beforeAll(async () => {
  h = await startAuthorizer();
  // Start-up work lags the event loop and the service sheds load for a moment (503): begin
  // once it serves, so that any 503 below is one a hostile request caused.
  await waitUntil(async () => (await h.app.inject({ method: 'GET', url: '/ready' })).statusCode === 200, {
    message: 'authorizer ready',
  });
  active = await seedBusinessCard(h.app.postgres.sql, { controls: { daily_limit_minor: 100_000 } });
  suspended = await seedBusinessCard(h.app.postgres.sql, { card_state: 'suspended' });
  // Both cards in Redis before the snapshots: a first load is a legitimate change.
  expect((await postJit(h.app, jitBody(active))).statusCode).toBe(200);
  expect((await postJit(h.app, jitBody(suspended))).statusCode).toBe(402);
});
afterAll(async () => h?.close());

const b64 = (text: string) => Buffer.from(text).toString('base64');

// Secrets a client sends (a wrong password, a card number in the body): none may reach a log.
const secret = fc.stringMatching(/^[A-Za-z0-9]{16,32}$/).map((text) => `pw-${text}`);

// Weighted towards the right credentials, so that most requests reach the body's validation.
const authorization = fc.oneof(
  {
    arbitrary: fc.constant({
      header: basic_auth as string | undefined,
      valid: true,
      secrets: [] as string[],
    }),
    weight: 6,
  },
  fc.constant({ header: undefined, valid: false, secrets: [] }),
  secret.map((password) => ({
    header: `Basic ${b64(`${jit_username}:${password}`)}`,
    valid: false,
    secrets: [password],
  })),
  secret.map((token) => ({ header: `Bearer ${token}`, valid: false, secrets: [token] })),
  fc.string({ maxLength: 80 }).map((header) => ({ header, valid: false, secrets: [] })),
  fc.constant({ header: `Bearer ${b64(`${jit_username}:${jit_password}`)}`, valid: false, secrets: [] }),
);

// Valid-shaped bodies name the suspended card: whatever a hostile body manages to get past
// validation can only be declined, so any 200 is a bug.
const requests = () =>
  fc.record({
    auth: authorization,
    body: hostileBody(jitBody(suspended)),
    card_number: fc.option(card_number_arbitrary, { nil: undefined }),
    content_type: fc.constantFrom(
      'application/json',
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
    ),
  });

// Sent again while the load shedder (not the request) answers 503: see sendPastShedding.
function send(options: InjectOptions) {
  return sendPastShedding(
    () => h.app.inject(options),
    async () => (await h.app.inject({ method: 'GET', url: '/ready' })).statusCode === 200,
  );
}

describe('hostile requests to POST /v1/jit', () => {
  it('answer 4xx or a proper decline, never 5xx; change nothing; leak no secret into the logs', async () => {
    const sent: string[] = [jit_password, basic_auth.slice(6)];
    const statuses = new Set<number>();
    const before_active = await h.app.authorizer.card_state.readState(active.user_token, active.card_token);
    await fc.assert(
      fc.asyncProperty(requests(), async ({ auth, body, card_number, content_type }) => {
        sent.push(...auth.secrets, ...(card_number === undefined ? [] : [card_number]));
        const payload = withCardNumber(body.payload, card_number);
        const snapshot = await redisSnapshot(localServiceUrls.redis, h.redis_prefix.prefix);
        const response = await send({
          method: 'POST',
          url: '/v1/jit',
          headers: {
            'content-type': content_type,
            ...(auth.header === undefined ? {} : { authorization: auth.header }),
          },
          payload,
        });
        const status = response.statusCode;
        statuses.add(status);
        expect(status, `${body.what}: ${response.body.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
        expect(status, `${body.what}: ${response.body.slice(0, 200)}`).toBeLessThan(500);
        if (!auth.valid) expect(status).toBe(401);
        if (status === 402) {
          // A decline is a decision: recorded for replays, echoing the request, with a reason.
          expect(response.json()).toMatchObject({ jit_funding: { decline_reason: expect.any(String) } });
        } else {
          expect(await redisSnapshot(localServiceUrls.redis, h.redis_prefix.prefix)).toBe(snapshot);
        }
      }),
      { numRuns: 100 },
    );
    // The run reached both the credentials check and the body's validation.
    expect(statuses).toContain(401);
    expect(statuses).toContain(400);
    expect(statuses).toContain(402);
    // The approved card's counters and holds are where they were: nothing hostile spent.
    expect(await h.app.authorizer.card_state.readState(active.user_token, active.card_token)).toEqual(
      before_active,
    );
    const logs = h.log_lines.join('');
    expect(sent.filter((value) => logs.includes(value))).toEqual([]);
  });

  it('413 for a body past the limit, unchanged', async () => {
    const snapshot = await redisSnapshot(localServiceUrls.redis, h.redis_prefix.prefix);
    const oversized = { ...jitBody(suspended), padding: 'x'.repeat(h.config.JIT_BODY_LIMIT_BYTES) };
    expect((await postJit(h.app, oversized)).statusCode).toBe(413);
    expect(await redisSnapshot(localServiceUrls.redis, h.redis_prefix.prefix)).toBe(snapshot);
  });
});
