import { randomUUID } from 'node:crypto';
import { AmqpClient, exchange_names, queue_names, routing_keys } from '@afc/amqp';
import { createLogger } from '@afc/log';
import { localServiceUrls, waitUntil } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin_key,
  bearer,
  createCard,
  createCompany,
  createUser,
  type Harness,
  startApi,
  type Tenant,
} from './harness.ts';
import { createPersonalUser, issueBusinessCard, issuePersonalCard, type Sim, startSim } from './sim.ts';

// The card-events consumer and the history routes: the card-issuer's events are published here
// as it publishes them (its own tests show it does; tests/e2e runs both together).

let s: Sim;
let h: Harness;
let a: Tenant;
let b: Tenant;
let issuer: AmqpClient;

beforeAll(async () => {
  s = await startSim();
  h = await startApi(s.env, { card_events_retry_delays_ms: [100, 100] });
  a = await createCompany(h.app, 'A');
  b = await createCompany(h.app, 'B');
  issuer = new AmqpClient({
    url: localServiceUrls.amqp,
    connection_name: 'test-card-issuer',
    topology: h.topology,
    logger: createLogger({ name: 'test-card-issuer', level: 'silent' }),
  });
  await issuer.start(5_000);
});
afterAll(async () => {
  await issuer?.close(5_000);
  await h?.close();
  await s?.close();
});

interface HistoryEntry {
  event_id: string;
  type: string;
  reason: string | null;
  details: Record<string, unknown>;
  occurred_at: string;
}

async function businessCard() {
  const user = await createUser(h.app, a);
  const card = await createCard(h.app, a, user.id);
  return { ...card, user_token: user.user_token };
}

function issuedEvent(program: 'business' | 'personal', card_token: string, user_token: string) {
  return {
    event_id: `${card_token}:issued`,
    program,
    card_token,
    user_token,
    last_four: '4242',
    expiration_month: 11,
    expiration_year: 2030,
    issued_at: '2026-11-21T10:00:00.000Z',
  };
}

async function publish(routing_key: string, event: Record<string, unknown>, message_id: string) {
  await issuer.publish(exchange_names.events, routing_key, event, { message_id });
}

// Deliveries of one event the consumer finished (recorded or duplicate), from its log.
function handled(message_id: string): number {
  return h.log_lines.filter((line) => line.includes('"api.card_event"') && line.includes(`"${message_id}"`))
    .length;
}

async function history(url: string, key = a.key) {
  const response = await h.app.inject({ method: 'GET', url, headers: bearer(key) });
  expect(response.statusCode, response.body).toBe(200);
  return response.json<{ data: HistoryEntry[]; next_cursor: string | null }>();
}

async function rowsOf(card_token: string): Promise<number> {
  const [row] = await h.app.postgres.sql<{ count: number }[]>`
    select count(*)::int as count from card_lifecycle_events where card_token = ${card_token}`;
  return row?.count ?? 0;
}

describe('card lifecycle history', () => {
  it('records card.issued once however often it is delivered, visible through the card route', async () => {
    const card = await businessCard();
    const event = issuedEvent('business', card.card_token, card.user_token);
    for (let i = 0; i < 3; i += 1) await publish(routing_keys.card_issued, event, event.event_id);

    await waitUntil(() => handled(event.event_id) === 3, { message: 'three deliveries handled' });
    expect(await rowsOf(card.card_token)).toBe(1);
    const { data, next_cursor } = await history(`/v1/cards/${card.id}/events`);
    expect(next_cursor).toBeNull();
    expect(data).toEqual([
      expect.objectContaining({
        event_id: event.event_id,
        type: 'card.issued',
        reason: null,
        details: { last_four: '4242', expiration_month: 11, expiration_year: 2030 },
        occurred_at: '2026-11-21T10:00:00.000000Z',
      }),
    ]);
    expect(h.log_lines.filter((line) => line.includes('"outcome":"duplicate"'))).not.toHaveLength(0);
    // Counted by outcome (other cases of this file may have counted more).
    const metrics = (await h.app.inject({ url: '/metrics' })).body;
    const count = (outcome: string) =>
      Number(
        new RegExp(
          `^afc_api_card_events_total\\{type="card.issued",outcome="${outcome}"[^}]*\\} (\\d+)$`,
          'm',
        ).exec(metrics)?.[1],
      );
    expect(count('recorded')).toBeGreaterThanOrEqual(1);
    expect(count('duplicate')).toBeGreaterThanOrEqual(2);
  });

  it('records card.issue.failed with the reason, the Marqeta code and the attempts', async () => {
    const card = await businessCard();
    const command_id = randomUUID();
    const event = {
      event_id: `${card.card_token}:issue_failed:${command_id}`,
      program: 'business',
      card_token: card.card_token,
      user_token: card.user_token,
      command_id,
      reason: 'Marqeta answered 404: card product not found',
      marqeta_error_code: '404',
      attempts: 1,
      failed_at: '2026-11-21T10:00:01.000Z',
    };
    await publish(routing_keys.card_issue_failed, event, event.event_id);

    await waitUntil(() => handled(event.event_id) === 1, { message: 'failure recorded' });
    const { data } = await history(`/v1/cards/${card.id}/events`);
    expect(data).toEqual([
      expect.objectContaining({
        type: 'card.issue.failed',
        reason: event.reason,
        details: { command_id, attempts: 1, marqeta_error_code: '404' },
      }),
    ]);
  });

  it('records the api transitions in order with the issuance; the same state again adds nothing', async () => {
    const card = await businessCard();
    await issueBusinessCard(h.app, s, card, card.user_token);
    const event = issuedEvent('business', card.card_token, card.user_token);
    await publish(routing_keys.card_issued, event, event.event_id);
    await waitUntil(() => handled(event.event_id) === 1, { message: 'issued recorded' });
    for (const state of ['SUSPENDED', 'SUSPENDED', 'ACTIVE', 'TERMINATED']) {
      const response = await h.app.inject({
        method: 'POST',
        url: `/v1/cards/${card.id}/transitions`,
        headers: bearer(a.key),
        payload: { state, reason: `to ${state}` },
      });
      expect(response.statusCode, response.body).toBe(200);
    }

    const { data } = await history(`/v1/cards/${card.id}/events`);
    expect(data.map((entry) => [entry.type, entry.reason, entry.details.from_state])).toEqual([
      ['card.issued', null, undefined],
      ['card.suspended', 'to SUSPENDED', 'active'],
      ['card.reactivated', 'to ACTIVE', 'suspended'],
      ['card.terminated', 'to TERMINATED', 'active'],
    ]);
    // Pages of two, oldest first, the cursor continuing where the first page ended.
    const first = await history(`/v1/cards/${card.id}/events?limit=2`);
    expect(first.data.map((entry) => entry.type)).toEqual(['card.issued', 'card.suspended']);
    const second = await history(`/v1/cards/${card.id}/events?limit=2&cursor=${first.next_cursor}`);
    expect(second.data.map((entry) => entry.type)).toEqual(['card.reactivated', 'card.terminated']);
    expect(second.next_cursor).toBeNull();
  });

  it("keeps another company's card history out (404 like a missing card), and the admin key (403)", async () => {
    const card = await businessCard();
    const event = issuedEvent('business', card.card_token, card.user_token);
    await publish(routing_keys.card_issued, event, event.event_id);
    await waitUntil(() => handled(event.event_id) === 1, { message: 'issued recorded' });

    const other = await h.app.inject({ url: `/v1/cards/${card.id}/events`, headers: bearer(b.key) });
    expect(other.statusCode).toBe(404);
    const missing = await h.app.inject({ url: `/v1/cards/${randomUUID()}/events`, headers: bearer(a.key) });
    expect(missing.statusCode).toBe(404);
    expect(other.json()).toEqual(missing.json());
    const admin = await h.app.inject({ url: `/v1/cards/${card.id}/events`, headers: bearer(admin_key) });
    expect(admin.statusCode).toBe(403);
    // Bad input: the card id, the limit, a cursor we never issued.
    for (const [url, field] of [
      ['/v1/cards/not-a-uuid/events', 'params.id'],
      [`/v1/cards/${card.id}/events?limit=0`, 'querystring.limit'],
      [`/v1/cards/${card.id}/events?cursor=bm90LWEtY3Vyc29y`, 'querystring.cursor'],
    ] as const) {
      const response = await h.app.inject({ url, headers: bearer(a.key) });
      expect(response.statusCode, url).toBe(400);
      expect(response.json().fields).toContain(field);
    }
  });

  it('personal cards: issuance and transitions under the admin key; company keys 403, unknown 404, bad token 400', async () => {
    const user = await createPersonalUser(h.app, 'verified');
    const created = await h.app.inject({
      method: 'POST',
      url: '/v1/personal/cards',
      headers: bearer(admin_key),
      payload: { user_token: user.user_token, card_product_token: 'product-activate' },
    });
    const { card_token } = created.json<{ card_token: string }>();
    await issuePersonalCard(h.app, s, card_token, user.user_token);
    const event = issuedEvent('personal', card_token, user.user_token);
    await publish(routing_keys.card_issued, event, event.event_id);
    await waitUntil(() => handled(event.event_id) === 1, { message: 'issued recorded' });
    const suspended = await h.app.inject({
      method: 'POST',
      url: `/v1/personal/cards/${card_token}/transitions`,
      headers: bearer(admin_key),
      payload: { state: 'SUSPENDED', reason: 'lost' },
    });
    expect(suspended.statusCode, suspended.body).toBe(200);

    const url = `/v1/personal/cards/${card_token}/events`;
    const { data } = await history(url, admin_key);
    expect(data.map((entry) => [entry.type, entry.reason])).toEqual([
      ['card.issued', null],
      ['card.suspended', 'lost'],
    ]);
    expect((await h.app.inject({ url, headers: bearer(a.key) })).statusCode).toBe(403);
    const unknown = await h.app.inject({
      url: '/v1/personal/cards/p-none/events',
      headers: bearer(admin_key),
    });
    expect(unknown.statusCode).toBe(404);
    const bad = await h.app.inject({ url: '/v1/personal/cards/a%20b/events', headers: bearer(admin_key) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().fields).toContain('params.token');
  });

  it('parks an event it cannot read after its attempts, recording nothing', async () => {
    const card = await businessCard();
    const message_id = `${card.card_token}:issued`;
    await publish(
      routing_keys.card_issued,
      { ...issuedEvent('business', card.card_token, card.user_token), last_four: '42424242' },
      message_id,
    );

    await waitUntil(
      async () =>
        (await h.app.amqp.listParked(queue_names.card_events, 100)).some(
          (parked) => parked.message_id === message_id,
        ),
      { message: 'parked' },
    );
    expect(await rowsOf(card.card_token)).toBe(0);
  });

  it('parks an event whose event_id is not its message_id, recording nothing', async () => {
    const card = await businessCard();
    const message_id = `${card.card_token}:issued:elsewhere`;
    await publish(
      routing_keys.card_issued,
      issuedEvent('business', card.card_token, card.user_token),
      message_id,
    );

    await waitUntil(
      async () =>
        (await h.app.amqp.listParked(queue_names.card_events, 100)).some(
          (parked) => parked.message_id === message_id,
        ),
      { message: 'parked' },
    );
    expect(await rowsOf(card.card_token)).toBe(0);
  });
});
