import type { CardStateStore } from '@afc/card-state';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, jitBody, jitTokenOf, nextToken, postJit, startAuthorizer } from './harness.ts';
import { type SeededCard, seedBusinessCard, seedPersonalCard } from './seed.ts';

let h: Harness;
let store: CardStateStore;

beforeAll(async () => {
  h = await startAuthorizer();
  store = h.app.authorizer.card_state;
});
afterAll(async () => h.close());

async function authorize(
  card: SeededCard,
  options: Parameters<typeof jitBody>[0] extends infer O ? Partial<O> : never = {},
) {
  const body = jitBody({ ...card, ...options });
  const response = await postJit(h.app, body);
  return { body, response, json: response.json() as { jit_funding: Record<string, unknown> } };
}

async function countersOf(card: SeededCard) {
  const state = await store.readState(card.user_token, card.card_token);
  return state.counters;
}

describe('POST /v1/jit decisions', () => {
  it('approves within limits and echoes the amount exactly as received', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql, { controls: { daily_limit_minor: 10_000 } });
    const as_number = await authorize(card, { amount: 1.5 });
    expect(as_number.response.statusCode).toBe(200);
    expect(as_number.json.jit_funding).toMatchObject({
      token: as_number.body.gpa_order?.jit_funding.token,
      method: 'pgfs.authorization',
      user_token: card.user_token,
      amount: 1.5,
    });
    expect(as_number.json.jit_funding.decline_reason).toBeUndefined();
    const as_text = await authorize(card, { amount: '1.00' });
    expect(as_text.response.statusCode).toBe(200);
    expect(as_text.json.jit_funding.amount).toBe('1.00');
    expect((await countersOf(card))?.day).toMatchObject({ amount_minor: 250, count: 2 });
  });

  it('decides with a merchant name longer in bytes than the state scripts keep', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql, { controls: { daily_limit_minor: 10_000 } });
    // 130 Cyrillic letters: within Marqeta's 255 characters, 260 bytes in UTF-8.
    const response = await authorize(card, { merchant_name: 'Ж'.repeat(130) });
    expect(response.response.statusCode).toBe(200);
  });

  it('answers a replayed JIT token with the stored answer and counts nothing again', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql, { controls: { daily_limit_minor: 10_000 } });
    const first = await authorize(card, { amount: '20.00' });
    const again = await postJit(h.app, first.body);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(first.json);
    expect((await countersOf(card))?.day).toMatchObject({ amount_minor: 2_000, count: 1 });
  });

  it.each([
    [
      'card unknown',
      'INVALID_CARD',
      async () => ({ card_token: nextToken('nocard'), user_token: nextToken('nouser') }),
    ],
    [
      'card suspended',
      'CARD_NOT_ACTIVE',
      async () => seedBusinessCard(h.app.postgres.sql, { card_state: 'suspended' }),
    ],
    [
      'card expired',
      'EXPIRED_CARD',
      async () => seedBusinessCard(h.app.postgres.sql, { expiration: { year: 2020, month: 1 } }),
    ],
    [
      'cardholder suspended',
      'CARDHOLDER_NOT_ACTIVE',
      async () => seedBusinessCard(h.app.postgres.sql, { user_status: 'suspended' }),
    ],
  ] as const)('%s → %s', async (_name, reason, seed) => {
    const card = await seed();
    const { response, json } = await authorize(card);
    expect(response.statusCode).toBe(402);
    expect(json.jit_funding.decline_reason).toBe(reason);
    expect(typeof json.jit_funding.memo).toBe('string');
  });

  it('declines by merchant, country, amount, count and currency rules in order', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql, {
      controls: {
        per_transaction_limit_minor: 5_000,
        daily_limit_minor: 6_000,
        daily_count_limit: 2,
        mcc_block: ['7995'],
        blocked_merchant_ids: ['mid-blocked'],
        blocked_countries: ['PRK'],
      },
    });
    const reason = async (options: Parameters<typeof authorize>[1]) =>
      (await authorize(card, options)).json.jit_funding.decline_reason;
    expect(await reason({ amount: '0.00' })).toBe('INVALID_AMOUNT');
    expect(await reason({ currency_code: 'EUR' })).toBe('TRANSACTION_NOT_PERMITTED');
    expect(await reason({ mcc: '7995' })).toBe('INVALID_MERCHANT');
    expect(await reason({ mid: 'mid-blocked' })).toBe('INVALID_MERCHANT');
    expect(await reason({ country_code: 'PRK' })).toBe('TRANSACTION_NOT_PERMITTED');
    expect(await reason({ amount: '50.01' })).toBe('AMOUNT_LIMIT_EXCEEDED');
    expect(await reason({ amount: '40.00' })).toBeUndefined();
    expect(await reason({ amount: '20.01' })).toBe('AMOUNT_LIMIT_EXCEEDED');
    expect(await reason({ amount: '20.00' })).toBeUndefined();
    expect(await reason({ amount: '0.01' })).toBe('AMOUNT_LIMIT_EXCEEDED');
    expect((await countersOf(card))?.day).toMatchObject({ amount_minor: 6_000, count: 2 });
  });

  it('declines past the count limit', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql, { controls: { daily_count_limit: 1 } });
    expect((await authorize(card)).response.statusCode).toBe(200);
    expect((await authorize(card)).json.jit_funding.decline_reason).toBe('TRANSACTION_COUNT_LIMIT_EXCEEDED');
  });

  it('spends a personal wallet and declines what it cannot cover', async () => {
    const card = await seedPersonalCard(h.app.personalStore, 2_500);
    expect((await authorize(card, { amount: '20.00' })).response.statusCode).toBe(200);
    const short = await authorize(card, { amount: '5.01' });
    expect(short.response.statusCode).toBe(402);
    expect(short.json.jit_funding.decline_reason).toBe('INSUFFICIENT_FUNDS');
    const state = await store.readState(card.user_token, card.card_token);
    expect(state.balance).toMatchObject({ available_minor: 500, held_minor: 2_000 });
  });
});

describe('POST /v1/jit methods', () => {
  it('holds only the increment of an incremental authorization', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql, { controls: { daily_limit_minor: 5_000 } });
    const first = await authorize(card, { amount: '30.00' });
    const original = jitTokenOf(first.body);
    const more = await authorize(card, {
      method: 'pgfs.authorization.incremental',
      amount: '15.00',
      original_jit_funding_token: original,
    });
    expect(more.response.statusCode).toBe(200);
    expect(more.json.jit_funding.original_jit_funding_token).toBe(original);
    const too_much = await authorize(card, {
      method: 'pgfs.authorization.incremental',
      amount: '5.01',
      original_jit_funding_token: original,
    });
    expect(too_much.json.jit_funding.decline_reason).toBe('AMOUNT_LIMIT_EXCEEDED');
    expect((await countersOf(card))?.day).toMatchObject({ amount_minor: 4_500, count: 1 });
  });

  it('releases a hold on reversal, and a clearing of another amount adjusts the counters', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql, { controls: { daily_limit_minor: 100_000 } });
    const reversed = await authorize(card, { amount: '40.00' });
    const reversal = await authorize(card, {
      method: 'pgfs.authorization.reversal',
      amount: '40.00',
      original_jit_funding_token: jitTokenOf(reversed.body),
    });
    expect(reversal.response.statusCode).toBe(200);
    expect((await countersOf(card))?.day).toMatchObject({ amount_minor: 0, count: 0 });
    const cleared = await authorize(card, { amount: '10.00' });
    const clearing = await authorize(card, {
      method: 'pgfs.authorization.clearing',
      amount: '12.50',
      original_jit_funding_token: jitTokenOf(cleared.body),
    });
    expect(clearing.response.statusCode).toBe(200);
    expect((await countersOf(card))?.day).toMatchObject({ amount_minor: 1_250, count: 1 });
  });

  it('credits a refund to a personal wallet and records an advice Marqeta already made', async () => {
    const card = await seedPersonalCard(h.app.personalStore, 1_000);
    const refund = await authorize(card, { method: 'pgfs.refund', amount: '3.00' });
    expect(refund.response.statusCode).toBe(200);
    const advice = await authorize(card, { method: 'pgfs.authorization.advice', amount: '2.00' });
    expect(advice.response.statusCode).toBe(200);
    const state = await store.readState(card.user_token, card.card_token);
    expect(state.balance).toMatchObject({ available_minor: 1_000 + 300 - 200 });
  });

  it('answers a balance inquiry with the wallet balance and moves no money', async () => {
    const card = await seedPersonalCard(h.app.personalStore, 12_345);
    const inquiry = await authorize(card, { method: 'pgfs.balanceinquiry', amount: 0 });
    expect(inquiry.response.statusCode).toBe(200);
    expect(inquiry.json.jit_funding.balances).toEqual({
      USD: { currency_code: 'USD', available_balance: 123.45, ledger_balance: 123.45 },
    });
    const state = await store.readState(card.user_token, card.card_token);
    expect(state.balance).toMatchObject({ available_minor: 12_345, held_minor: 0 });
  });

  it('decides account verifications, ATM, PIN-debit, quasi-cash and auth-plus-capture', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql, { controls: { daily_limit_minor: 100_000 } });
    const verification = await authorize(card, {
      method: 'pgfs.authorization.account_verification',
      amount: 0,
    });
    expect(verification.response.statusCode).toBe(200);
    for (const method of [
      'pgfs.atm.withdrawal',
      'pgfs.pindebit',
      'pgfs.authorization.quasi.cash',
      'pgfs.auth_plus_capture',
    ]) {
      const response = await authorize(card, { method, amount: '1.00' });
      expect(response.response.statusCode, method).toBe(200);
    }
    expect((await countersOf(card))?.day).toMatchObject({ amount_minor: 400, count: 4 });
  });

  it('declines unknown money-out methods and acknowledges notifications', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql);
    const unknown_out = await authorize(card, { method: 'pgfs.brand.new.debit' });
    expect(unknown_out.response.statusCode).toBe(402);
    expect(unknown_out.json.jit_funding.memo).toBe('method_not_supported');
    const unknown_in = await authorize(card, { method: 'pgfs.brand.new.credit' });
    expect(unknown_in.response.statusCode).toBe(200);
    expect((await countersOf(card))?.day.count ?? 0).toBe(0);
    // Both with a warning naming the method; a known notification without one.
    const warnings = h.log_lines
      .map((line) => JSON.parse(line) as { level?: string; method?: string })
      .filter((line) => line.level === 'warn' && line.method?.startsWith('pgfs.brand.new.'));
    expect(warnings.map((line) => line.method).sort()).toEqual([
      'pgfs.brand.new.credit',
      'pgfs.brand.new.debit',
    ]);
  });
});
