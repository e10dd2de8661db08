import { queue_names } from '@afc/amqp';
import { CardIssueRequested } from '@afc/messages';
import { waitUntil } from '@afc/testkit';
import { Value } from '@sinclair/typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bearer,
  createCard,
  createCompany,
  createUser,
  type Harness,
  startApi,
  type Tenant,
} from './harness.ts';

let h: Harness;
let a: Tenant;
let b: Tenant;
const consumed: { message_id: string; routing_key: string; payload: unknown }[] = [];

beforeAll(async () => {
  h = await startApi();
  a = await createCompany(h.app, 'A');
  b = await createCompany(h.app, 'B');
  // The card-issuer's queue, namespaced for this file: what the issuer would receive.
  await h.app.amqp.consume(
    queue_names.card_issuance,
    async (message) => {
      consumed.push({
        message_id: message.message_id,
        routing_key: message.routing_key,
        payload: message.payload,
      });
    },
    { prefetch_count: 10 },
  );
});
afterAll(async () => h.close());

describe('cards', () => {
  it('POST answers 202 and the issue command reaches the card-issuance queue', async () => {
    const user = await createUser(h.app, a);
    const card = await createCard(h.app, a, user.id);
    expect(card.state).toBe('requested');
    expect(card.card_token).toMatch(/^[A-Za-z0-9._-]{1,36}$/);
    await waitUntil(() =>
      consumed.some((m) => (m.payload as { card_token?: string }).card_token === card.card_token),
    );
    const message = consumed.find(
      (m) => (m.payload as { card_token?: string }).card_token === card.card_token,
    );
    expect(message?.routing_key).toBe('card.issue.requested');
    expect(Value.Check(CardIssueRequested, message?.payload)).toBe(true);
    expect(message?.payload).toMatchObject({
      command_id: message?.message_id,
      program: 'business',
      user_token: user.user_token,
      card_product_token: 'product-1',
      currency: 'USD',
    });
    // The broker can deliver before the publisher's transaction marking the row commits.
    await waitUntil(async () => {
      const [row] = await h.app.postgres.sql<{ published: boolean }[]>`
        select published_at is not null as published from outbox_messages where message_id = ${message?.message_id ?? ''}`;
      return row?.published === true;
    });
    const read = await h.app.inject({ url: `/v1/cards/${card.id}`, headers: bearer(a.key) });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({ id: card.id, state: 'requested', user_id: user.id, currency: 'USD' });
  });

  it('a command committed while nothing published it is published by the outbox (never lost)', async () => {
    const user = await createUser(h.app, a);
    // As if the process died right after the commit: the row alone must be enough.
    const command_id = crypto.randomUUID();
    const payload = {
      command_id,
      program: 'business',
      card_token: 'c-orphan-1',
      user_token: user.user_token,
      card_product_token: 'product-1',
      currency: 'EUR',
      requested_at: new Date().toISOString(),
    };
    await h.app.postgres.sql`insert into outbox_messages (message_id, exchange, routing_key, payload)
      values (${command_id}, 'events', 'card.issue.requested', ${h.app.postgres.sql.json(payload)})`;
    await waitUntil(() => consumed.some((m) => m.message_id === command_id));
  });

  it('controls reach Redis before the answer, with a higher version each time', async () => {
    const user = await createUser(h.app, a);
    const card = await createCard(h.app, a, user.id);
    const store = h.app.api.card_state;
    const controls = {
      per_transaction_limit_minor: 50_00,
      daily_limit_minor: 200_00,
      weekly_limit_minor: 500_00,
      monthly_limit_minor: 1_000_00,
      daily_count_limit: 5,
      weekly_count_limit: 20,
      monthly_count_limit: 50,
      mcc_allow: ['5812', '5814'],
      mcc_block: ['7995'],
      blocked_merchant_ids: ['mid-1'],
      blocked_countries: ['PRK'],
    };
    const put = await h.app.inject({
      method: 'PUT',
      url: `/v1/cards/${card.id}/controls`,
      headers: bearer(a.key),
      payload: controls,
    });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ ...controls, version: 1, currency: 'USD' });
    // No waiting: the write-through happened before the answer.
    const state = await store.readState(user.user_token, card.card_token);
    expect(state.controls).toMatchObject({ ...controls, version: 1 });
    expect(state.card).toMatchObject({ state: 'requested', card_token: card.card_token });

    const cleared = await h.app.inject({
      method: 'PUT',
      url: `/v1/cards/${card.id}/controls`,
      headers: bearer(a.key),
      payload: { daily_limit_minor: 100_00 },
    });
    expect(cleared.json()).toMatchObject({ version: 2, per_transaction_limit_minor: null, mcc_allow: null });
    const after = await store.readState(user.user_token, card.card_token);
    expect(after.controls).toMatchObject({
      daily_limit_minor: 100_00,
      mcc_allow: [],
      mcc_block: [],
      version: 2,
    });
    expect(after.controls).not.toHaveProperty('per_transaction_limit_minor');
    const read = await h.app.inject({ url: `/v1/cards/${card.id}/controls`, headers: bearer(a.key) });
    expect(read.json()).toMatchObject({ daily_limit_minor: 100_00, version: 2 });
  });

  it("company B's key gets 404 on company A's user, card, controls and transactions, and changes nothing", async () => {
    const user = await createUser(h.app, a);
    const card = await createCard(h.app, a, user.id);
    const urls = [
      `/v1/users/${user.id}`,
      `/v1/cards/${card.id}`,
      `/v1/cards/${card.id}/controls`,
      `/v1/cards/${card.id}/transactions`,
      `/v1/users/${user.id}/transactions`,
      `/v1/companies/${a.company_id}`,
    ];
    for (const url of urls) {
      const response = await h.app.inject({ url, headers: bearer(b.key) });
      expect(response.statusCode, url).toBe(404);
    }
    const put = await h.app.inject({
      method: 'PUT',
      url: `/v1/cards/${card.id}/controls`,
      headers: bearer(b.key),
      payload: { daily_limit_minor: 1 },
    });
    expect(put.statusCode).toBe(404);
    const post = await h.app.inject({
      method: 'POST',
      url: '/v1/cards',
      headers: bearer(b.key),
      payload: { user_id: user.id, card_product_token: 'product-1', currency: 'USD' },
    });
    expect(post.statusCode).toBe(404);
    const [counts] = await h.app.postgres.sql<{ cards: number; controls: number }[]>`
      select (select count(*)::int from cards where company_id = ${b.company_id}) as cards,
             (select count(*)::int from spending_controls where card_id = ${card.id}) as controls`;
    expect(counts).toEqual({ cards: 0, controls: 0 });
  });
});
