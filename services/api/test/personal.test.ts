import { queue_names } from '@afc/amqp';
import { CardIssueRequested } from '@afc/messages';
import { waitUntil } from '@afc/testkit';
import { Value } from '@sinclair/typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});
