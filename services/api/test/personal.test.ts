import { queue_names } from '@afc/amqp';
import { createLogger } from '@afc/log';
import { CardIssueRequested } from '@afc/messages';
import { unissuedCard } from '@afc/personal-store';
import { captureLogs, waitUntil } from '@afc/testkit';
import { Value } from '@sinclair/typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PersonalIssueSweep } from '../src/outbox/personal-issue-sweep.ts';
import { creditedMinor } from '../src/wallet/convert-deposit.ts';
import {
  admin_key,
  bearer,
  createCompany,
  type Harness,
  rowCounts,
  startApi,
  type Tenant,
} from './harness.ts';
import { createPersonalUser } from './sim.ts';

let h: Harness;
let a: Tenant;
const commands: unknown[] = [];

beforeAll(async () => {
  h = await startApi();
  a = await createCompany(h.app, 'A');
  await h.app.amqp.consume(
    queue_names.card_issuance,
    async (message) => {
      commands.push(message.payload);
    },
    { prefetch_count: 10 },
  );
});
afterAll(async () => h.close());

function deposit(user_token: string, payload: Record<string, unknown>, key = admin_key) {
  return h.app.inject({
    method: 'POST',
    url: `/v1/personal/users/${user_token}/deposits`,
    headers: bearer(key),
    payload,
  });
}

const btc = { crypto_currency: 'BTC', crypto_amount: '0.0125', rate: '64000.99' };
const redisBalance = async (user_token: string) =>
  (await h.app.api.card_state.readState(user_token, 'card-none')).balance;

describe('conversion', () => {
  it('multiplies decimal texts exactly and rounds down to a minor unit', () => {
    // 0.0125 × 64000.99 = 800.012375
    expect(creditedMinor('0.0125', '64000.99', 'USD')).toEqual({ ok: true, credited_minor: 80_001 });
    expect(creditedMinor('1', '0.999', 'USD')).toEqual({ ok: true, credited_minor: 99 });
    expect(creditedMinor('2', '150.5', 'JPY')).toEqual({ ok: true, credited_minor: 301 });
    expect(creditedMinor('0.1', '3', 'JPY')).toMatchObject({ ok: false, field: 'body.crypto_amount' });
    expect(creditedMinor('1.5', '2', 'KWD')).toEqual({ ok: true, credited_minor: 3_000 });
  });
});

describe('personal users and wallet deposits', () => {
  it('the admin key creates a user with a KYC status and an empty wallet; a company key cannot', async () => {
    const user = await createPersonalUser(h.app, 'pending', 'EUR');
    expect(user).toMatchObject({
      kyc_status: 'pending',
      status: 'active',
      wallet: { currency: 'EUR', available_minor: 0 },
    });
    const read = await h.app.inject({
      url: `/v1/personal/users/${user.user_token}`,
      headers: bearer(admin_key),
    });
    expect(read.json()).toMatchObject({ user_token: user.user_token, kyc_status: 'pending' });
    const refused = await h.app.inject({
      method: 'POST',
      url: '/v1/personal/users',
      headers: bearer(a.key),
      payload: { email: 'x@example.com', wallet_address: '0xabcdef0123456789', currency: 'USD' },
    });
    expect(refused.statusCode).toBe(403);
  });

  it('a deposit credits the converted amount, keeps both sides, and a repeat answers the first result', async () => {
    const user = await createPersonalUser(h.app);
    const first = await deposit(user.user_token, { deposit_id: 'dep-1', ...btc });
    expect(first.statusCode, first.body).toBe(201);
    expect(first.json()).toMatchObject({
      ...btc,
      deposit_id: 'dep-1',
      credited_minor: 80_001,
      currency: 'USD',
      wallet: { available_minor: 80_001 },
      replayed: false,
    });
    const again = await deposit(user.user_token, { deposit_id: 'dep-1', ...btc });
    expect(again.statusCode).toBe(200);
    expect({ ...again.json(), replayed: false }).toEqual(first.json());
    const [row] = await h.app.postgres.sql`
      select crypto_amount, rate, credited_minor from personal.wallet_deposits where deposit_id = 'dep-1'`;
    expect(row).toMatchObject({ crypto_amount: '0.0125', rate: '64000.99' });
    expect(Number(row?.credited_minor)).toBe(80_001);
    // No balance was loaded: Redis is filled from the wallet after the deposit.
    expect(await redisBalance(user.user_token)).toEqual({ available_minor: 80_001, held_minor: 0 });
  });

  it('a loaded real-time balance is credited once, however often the deposit is repeated', async () => {
    const user = await createPersonalUser(h.app);
    // As the authorizer's loader leaves it: the empty wallet at the version it read.
    await h.app.api.card_state.writeBalance(
      user.user_token,
      { available_minor: 0, held_minor: 0 },
      user.wallet.version,
    );
    for (let i = 0; i < 3; i += 1) {
      const response = await deposit(user.user_token, {
        deposit_id: 'dep-2',
        ...btc,
        credited_minor: 80_001,
      });
      expect(response.statusCode).toBe(i === 0 ? 201 : 200);
    }
    expect(await redisBalance(user.user_token)).toEqual({ available_minor: 80_001, held_minor: 0 });
  });

  it('a deposit_id repeated with other content is a conflict; a wrong credited_minor is a 400; nothing changes', async () => {
    const user = await createPersonalUser(h.app);
    expect((await deposit(user.user_token, { deposit_id: 'dep-3', ...btc })).statusCode).toBe(201);
    const before = await rowCounts(h.app);
    const other = await deposit(user.user_token, { deposit_id: 'dep-3', ...btc, crypto_amount: '0.5' });
    expect(other.statusCode).toBe(409);
    const wrong = await deposit(user.user_token, { deposit_id: 'dep-4', ...btc, credited_minor: 80_002 });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().fields).toEqual(['body.credited_minor']);
    const dust = await deposit(user.user_token, {
      deposit_id: 'dep-5',
      crypto_currency: 'BTC',
      crypto_amount: '0.00000001',
      rate: '1',
    });
    expect(dust.statusCode).toBe(400);
    expect(dust.json().fields).toEqual(['body.crypto_amount']);
    expect((await deposit(user.user_token, { deposit_id: 'dep-6', ...btc }, a.key)).statusCode).toBe(403);
    expect((await deposit('p-nobody', { deposit_id: 'dep-7', ...btc })).statusCode).toBe(404);
    expect(await rowCounts(h.app)).toEqual(before);
    expect(await redisBalance(user.user_token)).toEqual({ available_minor: 80_001, held_minor: 0 });
  });
});

describe('personal cards', () => {
  it('needs a verified cardholder; then records the card and sends the personal issue command', async () => {
    const pending = await createPersonalUser(h.app, 'pending');
    const post = (user_token: string) =>
      h.app.inject({
        method: 'POST',
        url: '/v1/personal/cards',
        headers: bearer(admin_key),
        payload: { user_token, card_product_token: 'product-1' },
      });
    const before = await rowCounts(h.app);
    expect((await post(pending.user_token)).statusCode).toBe(409);
    expect(await rowCounts(h.app)).toEqual(before);
    const user = await createPersonalUser(h.app, 'verified');
    const created = await post(user.user_token);
    expect(created.statusCode, created.body).toBe(202);
    const { card_token } = created.json<{ card_token: string }>();
    expect((await h.app.personalStore.getCard(card_token))?.state).toBe('unactivated');
    await waitUntil(() => commands.some((c) => (c as { card_token?: string }).card_token === card_token));
    const command = commands.find((c) => (c as { card_token?: string }).card_token === card_token);
    expect(Value.Check(CardIssueRequested, command)).toBe(true);
    expect(command).toMatchObject({ program: 'personal', user_token: user.user_token, currency: 'USD' });
  });

  it("reads the card while it is being issued, once issued with Marqeta's details, and failed with its reason", async () => {
    const user = await createPersonalUser(h.app, 'verified');
    const created = await h.app.inject({
      method: 'POST',
      url: '/v1/personal/cards',
      headers: bearer(admin_key),
      payload: { user_token: user.user_token, card_product_token: 'product-1' },
    });
    const { card_token } = created.json<{ card_token: string }>();
    const read = (key = admin_key, token = card_token) =>
      h.app.inject({ url: `/v1/personal/cards/${token}`, headers: bearer(key) });
    const issuing = await read();
    expect(issuing.statusCode, issuing.body).toBe(200);
    // The store's placeholders are not shown as the card's details.
    expect(issuing.json()).toMatchObject({
      card_token,
      user_token: user.user_token,
      state: 'unactivated',
      failure_reason: null,
      last_four: null,
      expiration_month: null,
      currency: 'USD',
      card_product_token: 'product-1',
    });
    await h.app.personalStore.recordCardIssued(card_token, {
      last_four: '4321',
      expiration_month: 7,
      expiration_year: 2031,
    });
    expect((await read()).json()).toMatchObject({
      state: 'active',
      last_four: '4321',
      expiration_month: 7,
      expiration_year: 2031,
    });
    const other = await h.app.personalStore.createCard(
      unissuedCard({
        card_token: `pf-${user.user_token}`.slice(0, 36),
        user_token: user.user_token,
        currency: 'USD',
      }),
    );
    await h.app.personalStore.recordCardIssueFailed(other.card_token, 'marqeta 404: no such product');
    expect((await read(admin_key, other.card_token)).json()).toMatchObject({
      state: 'failed',
      failure_reason: 'marqeta 404: no such product',
      last_four: null,
    });
    expect((await read(a.key)).statusCode).toBe(403);
    expect((await read(admin_key, 'pc-nobody')).statusCode).toBe(404);
  });
});

describe('a personal card always gets its issue command', () => {
  const post = (user_token: string, card_product_token = 'product-1') =>
    h.app.inject({
      method: 'POST',
      url: '/v1/personal/cards',
      headers: bearer(admin_key),
      payload: { user_token, card_product_token },
    });
  const commandsFor = (card_token: string) =>
    commands.filter((c) => (c as { card_token?: string }).card_token === card_token);
  // Commands for the card in the outbox, published or not.
  const outboxCount = async (card_token: string) => {
    const [row] = await h.app.postgres.sql<{ count: number }[]>`
      select count(*)::int as count from outbox_messages where payload->>'card_token' = ${card_token}`;
    return row?.count ?? 0;
  };
  // A card recorded in the store alone, as a crash before its command would leave it.
  const createUnissued = (user_token: string, name: string, card_product_token?: string) =>
    h.app.personalStore.createCard(
      unissuedCard({
        card_token: `pc-${name}-${user_token}`.slice(0, 36),
        user_token,
        currency: 'USD',
        ...(card_product_token === undefined ? {} : { card_product_token }),
      }),
    );

  it('on the PostgreSQL twin the card and its command commit together: a failed command leaves no card', async () => {
    const user = await createPersonalUser(h.app, 'verified');
    const sql = h.app.postgres.sql;
    // A real failure of the second write, inside PostgreSQL.
    await sql.unsafe(`
      create function fail_personal_command() returns trigger language plpgsql as $$
      begin raise exception 'outbox refused'; end $$;
      create trigger fail_personal_command before insert on outbox_messages
        for each row when (new.payload->>'program' = 'personal') execute function fail_personal_command();`);
    try {
      const before = await rowCounts(h.app);
      const refused = await post(user.user_token);
      expect(refused.statusCode).toBe(500);
      expect(await rowCounts(h.app)).toEqual(before);
      expect(await h.app.personalStore.listCards(user.user_token)).toEqual([]);
    } finally {
      await sql.unsafe(`drop trigger fail_personal_command on outbox_messages;
        drop function fail_personal_command();`);
    }
    const created = await post(user.user_token);
    expect(created.statusCode, created.body).toBe(202);
    const { card_token } = created.json<{ card_token: string }>();
    await waitUntil(() => commandsFor(card_token).length === 1, { message: 'the command' });
    expect(await h.app.personalStore.getCard(card_token)).toMatchObject({
      state: 'unactivated',
      card_product_token: 'product-1',
    });
  });

  it('a card left without its command (MongoDB: a crash between the two writes) gets it again from the sweep, once per window', async () => {
    const user = await createPersonalUser(h.app, 'verified');
    // The first of the two writes MongoDB makes, and the crash: no command.
    const card = await createUnissued(user.user_token, 'crash', 'product-crash');
    const sweep = h.app.api.personal_issue_sweep;
    const { stuck_after_ms } = sweep;
    const created_ms = card.created_at.getTime();
    // Not stuck yet: nothing is sent.
    expect(await sweep.sweepOnce(created_ms + 1_000)).toBe(0);
    // The start of a window (plus a second) past the bound: the rounds below share the window.
    const later_ms =
      (Math.floor((created_ms + stuck_after_ms) / stuck_after_ms) + 1) * stuck_after_ms + 1_000;
    expect(await sweep.sweepOnce(later_ms)).toBeGreaterThanOrEqual(1);
    await waitUntil(() => commandsFor(card.card_token).length === 1, { message: 'the command again' });
    const [command] = commandsFor(card.card_token);
    expect(Value.Check(CardIssueRequested, command)).toBe(true);
    expect(command).toMatchObject({
      program: 'personal',
      user_token: user.user_token,
      card_product_token: 'product-crash',
      currency: 'USD',
    });
    // Every round (and every API instance) of the same window inserts it at most once.
    const outbox = await outboxCount(card.card_token);
    await sweep.sweepOnce(later_ms + 1_000);
    expect(await outboxCount(card.card_token)).toBe(outbox);
    expect(outbox).toBe(1);
  });

  it('resends nothing for a card whose command still waits in the outbox (a broker outage piles nothing up)', async () => {
    const user = await createPersonalUser(h.app, 'verified');
    const card = await createUnissued(user.user_token, 'wait', 'product-wait');
    const sql = h.app.postgres.sql;
    // Its command, unpublished and not due (as during an outage: refused, waiting its backoff).
    await sql`insert into outbox_messages (exchange, routing_key, payload, next_attempt_at)
      values ('events', 'card.issue.requested', ${sql.json({ card_token: card.card_token })}, now() + interval '1 day')`;
    const sweep = h.app.api.personal_issue_sweep;
    const window_ms =
      (Math.floor(card.created_at.getTime() / sweep.stuck_after_ms) + 3) * sweep.stuck_after_ms;
    // Window after window, the waiting command is the only one.
    for (const window of [0, 1, 2]) await sweep.sweepOnce(window_ms + window * sweep.stuck_after_ms);
    expect(await outboxCount(card.card_token)).toBe(1);
    // Once it went out, a card still not issued gets a new one.
    await sql`update outbox_messages set published_at = now() where payload->>'card_token' = ${card.card_token}`;
    await sweep.sweepOnce(window_ms + 3 * sweep.stuck_after_ms);
    expect(await outboxCount(card.card_token)).toBe(2);
  });

  it('cards that stay stuck (no product recorded) do not keep the sweep from the cards behind them', async () => {
    const store = h.app.personalStore;
    const user = await createPersonalUser(h.app, 'verified');
    // Recorded before the product was kept with the card: the sweep can only log them.
    for (const i of [1, 2, 3]) await createUnissued(user.user_token, `np${i}`);
    // Created in the same millisecond as a stuck card, it still sorts after them: the sweep's
    // order is (created_at, card_token).
    const behind = await createUnissued(user.user_token, 'z-behind', 'product-behind');
    const { stuck_after_ms } = h.app.api.personal_issue_sweep;
    const later_ms = behind.created_at.getTime() + 2 * stuck_after_ms;
    // One card per round: without a cursor every round would read the oldest stuck card again.
    const sweep = new PersonalIssueSweep({
      store,
      sql: h.app.postgres.sql,
      logger: createLogger({ name: 'api-test-sweep', level: 'info', destination: captureLogs().destination }),
      stuck_after_ms,
      interval_ms: 60_000,
      batch_size: 1,
      on_resent: () => h.app.api.outbox.wake(),
    });
    const stuck = await store.listCardsAwaitingIssue(new Date(later_ms - stuck_after_ms), 100);
    expect(stuck.at(-1)?.card_token).toBe(behind.card_token);
    for (let round = 0; round < stuck.length; round += 1) await sweep.sweepOnce(later_ms);
    expect(await outboxCount(behind.card_token)).toBe(1);
    await waitUntil(() => commandsFor(behind.card_token).length === 1, { message: 'the command' });
  });
});

describe('personal transactions', () => {
  it('lists a card and a cardholder newest first with a cursor, from the personal store', async () => {
    const user = await createPersonalUser(h.app, 'verified');
    const store = h.app.personalStore;
    const card_token = `pt-${user.user_token}`.slice(0, 36);
    await store.createCard({
      card_token,
      user_token: user.user_token,
      state: 'active',
      currency: 'USD',
      expiration_month: 1,
      expiration_year: 2030,
      last_four: '1111',
    });
    const jit_tokens: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const jit_token = `jit-${i}-${card_token}`.slice(0, 60);
      jit_tokens.push(jit_token);
      await store.recordTransactionEvent({
        event_id: `ev-${jit_token}`,
        jit_token,
        card_token,
        user_token: user.user_token,
        currency: 'USD',
        state: 'pending',
        occurred_at: new Date(),
        authorized_minor: 100 * (i + 1),
        merchant: { name: 'Corner Grocer', mcc: '5411', country_code: 'USA' },
      });
    }
    const list = (url: string, key = admin_key) => h.app.inject({ url, headers: bearer(key) });
    for (const base of [`/v1/personal/cards/${card_token}`, `/v1/personal/users/${user.user_token}`]) {
      const first = await list(`${base}/transactions?limit=2`);
      expect(first.statusCode, first.body).toBe(200);
      const page = first.json<{ data: { jit_token: string }[]; next_cursor: string | null }>();
      expect(page.data).toHaveLength(2);
      expect(page.next_cursor).not.toBeNull();
      const second = await list(`${base}/transactions?limit=2&cursor=${page.next_cursor}`);
      const rest = second.json<{ data: { jit_token: string }[]; next_cursor: string | null }>();
      expect(rest.next_cursor).toBeNull();
      // Newest first: every transaction once, the last recorded first.
      const seen = [...page.data, ...rest.data].map((t) => t.jit_token);
      expect([...seen].sort()).toEqual([...jit_tokens].sort());
      expect(seen[0]).toBe(jit_tokens[2]);
      expect(rest.data[0]).toMatchObject({ merchant_mcc: '5411', currency: 'USD', state: 'pending' });
      const forged = Buffer.from('["yesterday"]').toString('base64url');
      const bad = await list(`${base}/transactions?cursor=${forged}`);
      expect(bad.statusCode).toBe(400);
      expect(bad.json().fields).toEqual(['querystring.cursor']);
      expect((await list(`${base}/transactions`, a.key)).statusCode).toBe(403);
    }
    expect((await list('/v1/personal/cards/pc-nobody/transactions')).statusCode).toBe(404);
    expect((await list('/v1/personal/users/p-nobody/transactions')).statusCode).toBe(404);
  });
});
