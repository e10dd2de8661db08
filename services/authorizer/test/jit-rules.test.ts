import type { CardStateStore } from '@afc/card-state';
import { clearOfUtcMidnight } from '@afc/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  followUpBody,
  type Harness,
  jitBody,
  jitTokenOf,
  nextToken,
  postJit,
  startAuthorizer,
} from './harness.ts';
import { type SeededCard, seedBusinessCard, seedPersonalCard } from './seed.ts';

// The rules and methods jit-route.test.ts does not reach, each through the route: what Marqeta
// sees (status, decline_reason, memo) and what Redis counted.

let h: Harness;
let store: CardStateStore;

beforeAll(async () => {
  h = await startAuthorizer();
  store = h.app.authorizer.card_state;
});
afterAll(async () => h.close());

type JitOptions = Partial<Parameters<typeof jitBody>[0]>;

async function send(card: SeededCard, options: JitOptions = {}) {
  const body = jitBody({ ...card, ...options });
  const response = await postJit(h.app, body);
  const funding = (response.json() as { jit_funding: Record<string, unknown> }).jit_funding;
  return { body, status: response.statusCode, funding, token: jitTokenOf(body) };
}

async function dayOf(card: SeededCard) {
  return (await store.readState(card.user_token, card.card_token)).counters?.day;
}

describe('POST /v1/jit rules', () => {
  // Each test counts in today's windows (and this week's and month's): none may span a UTC midnight.
  beforeEach(() => clearOfUtcMidnight(10_000));

  it('declines outside the MCC allow-list, and approves inside it', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql, { controls: { mcc_allow: ['5411'] } });
    expect((await send(card, { mcc: '5411' })).status).toBe(200);
    const outside = await send(card, { mcc: '5812' });
    expect(outside).toMatchObject({
      status: 402,
      funding: { decline_reason: 'INVALID_MERCHANT', memo: 'mcc_not_allowed' },
    });
  });

  it.each([
    ['weekly amount', { weekly_limit_minor: 1_500 }, 'AMOUNT_LIMIT_EXCEEDED', 'weekly_amount_limit'],
    ['monthly amount', { monthly_limit_minor: 1_500 }, 'AMOUNT_LIMIT_EXCEEDED', 'monthly_amount_limit'],
    ['weekly count', { weekly_count_limit: 1 }, 'TRANSACTION_COUNT_LIMIT_EXCEEDED', 'weekly_count_limit'],
    ['monthly count', { monthly_count_limit: 1 }, 'TRANSACTION_COUNT_LIMIT_EXCEEDED', 'monthly_count_limit'],
  ] as const)('declines past the %s limit', async (_name, controls, reason, memo) => {
    const card = await seedBusinessCard(h.app.postgres.sql, { controls });
    expect((await send(card, { amount: '10.00' })).status).toBe(200);
    expect(await send(card, { amount: '10.00' })).toMatchObject({
      status: 402,
      funding: { decline_reason: reason, memo },
    });
    expect(await dayOf(card)).toMatchObject({ amount_minor: 1_000, count: 1 });
  });

  it('declines a cardholder the data of record does not know, and a card sent with another user', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql);
    const stranger = await send({ card_token: card.card_token, user_token: nextToken('stranger') });
    expect(stranger).toMatchObject({ status: 402, funding: { decline_reason: 'INVALID_CARD' } });
    const other = await seedBusinessCard(h.app.postgres.sql);
    const crossed = await send({ card_token: card.card_token, user_token: other.user_token });
    expect(crossed).toMatchObject({ status: 402, funding: { decline_reason: 'INVALID_CARD' } });
    // Neither counted anything on the card or on the other cardholder's.
    expect((await dayOf(card))?.count ?? 0).toBe(0);
  });

  it('answers a replayed decline with the same decline and counts nothing', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql, {
      controls: { per_transaction_limit_minor: 500 },
    });
    const first = await send(card, { amount: '6.00' });
    expect(first.funding).toMatchObject({ decline_reason: 'AMOUNT_LIMIT_EXCEEDED' });
    const again = await postJit(h.app, first.body);
    expect(again.statusCode).toBe(402);
    expect(again.json()).toEqual({ jit_funding: first.funding });
    expect((await dayOf(card))?.count ?? 0).toBe(0);
  });

  it('declines an account verification of a non-zero amount or on a suspended card', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql);
    const verification = { method: 'pgfs.authorization.account_verification' };
    expect(await send(card, { ...verification, amount: '1.00' })).toMatchObject({
      status: 402,
      funding: { decline_reason: 'INVALID_AMOUNT', memo: 'verification_amount_not_zero' },
    });
    const suspended = await seedBusinessCard(h.app.postgres.sql, { card_state: 'suspended' });
    expect(await send(suspended, { ...verification, amount: 0 })).toMatchObject({
      status: 402,
      funding: { decline_reason: 'CARD_NOT_ACTIVE' },
    });
  });

  it('declines an incremental whose original it does not hold', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql);
    const orphan = await send(card, {
      method: 'pgfs.authorization.incremental',
      original_jit_funding_token: nextToken('never-authorized'),
    });
    expect(orphan).toMatchObject({
      status: 402,
      funding: { decline_reason: 'TRANSACTION_NOT_PERMITTED', memo: 'original_not_found' },
    });
  });
});

describe('POST /v1/jit about a card we do not know', () => {
  it('records an informative message (Marqeta moved the money); a decision after it is declined and stores nothing', async () => {
    const nobody = { card_token: nextToken('no-card'), user_token: nextToken('no-user') };
    const clearing = await send(nobody, { method: 'pgfs.authorization.capture', amount: '5.00' });
    expect(clearing.status).toBe(200);
    // Marked unknown for the informative message's script, which recorded it against no card.
    expect((await store.readState(nobody.user_token, nobody.card_token)).card).toBe('unknown');
    const decision = await send(nobody);
    expect(decision).toMatchObject({
      status: 402,
      funding: { decline_reason: 'INVALID_CARD', memo: 'card_not_found' },
    });
    expect(await store.readDecision(nobody.user_token, decision.token)).toBeNull();
  });
});

describe('POST /v1/jit methods, business cards', () => {
  it('releases part of a hold on a partial reversal', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql);
    const authorization = await send(card, { amount: '40.00' });
    const reversal = await send(card, {
      method: 'pgfs.authorization.reversal',
      amount: '15.00',
      original_jit_funding_token: authorization.token,
    });
    expect(reversal.status).toBe(200);
    expect(await dayOf(card)).toMatchObject({ amount_minor: 2_500, count: 1 });
    const hold = await store.readHold(card.user_token, authorization.token);
    expect(hold).toMatchObject({ amount_minor: 2_500, released_minor: 1_500 });
  });

  it('counts an advice Marqeta made on its own, and answers a balance inquiry with the allowance left', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql, { controls: { daily_limit_minor: 10_000 } });
    expect((await send(card, { method: 'pgfs.authorization.advice', amount: '30.00' })).status).toBe(200);
    expect(await dayOf(card)).toMatchObject({ amount_minor: 3_000, count: 1 });
    const inquiry = await send(card, { method: 'pgfs.balanceinquiry', amount: 0 });
    expect(inquiry.status).toBe(200);
    expect(inquiry.funding['balances']).toEqual({
      USD: { currency_code: 'USD', available_balance: 70, ledger_balance: 70 },
    });
    expect(await dayOf(card)).toMatchObject({ amount_minor: 3_000, count: 1 });
  });

  it('leaves the counters of a business refund alone (REFUND_BUSINESS_MODE=counters_unchanged)', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql);
    const purchase = await send(card, { amount: '25.00' });
    const refund = await send(card, {
      method: 'pgfs.refund',
      amount: '25.00',
      original_jit_funding_token: purchase.token,
    });
    expect(refund.status).toBe(200);
    expect(await dayOf(card)).toMatchObject({ amount_minor: 2_500, count: 1 });
  });

  it('decides a request that comes as gpa_order_unload', async () => {
    const card = await seedPersonalCard(h.app.personalStore, 5_000);
    const body = jitBody({ ...card, amount: '12.00' });
    const { gpa_order, ...rest } = body;
    const response = await postJit(h.app, { ...rest, gpa_order_unload: gpa_order });
    expect(response.statusCode).toBe(200);
    expect((response.json() as { jit_funding: { token: string } }).jit_funding.token).toBe(
      gpa_order?.jit_funding.token,
    );
    const state = await store.readState(card.user_token, card.card_token);
    expect(state.balance).toMatchObject({ available_minor: 3_800, held_minor: 1_200 });
  });
});

describe('POST /v1/jit business refunds that restore the counters', () => {
  let restoring: Harness;
  beforeAll(async () => {
    restoring = await startAuthorizer({ env: { REFUND_BUSINESS_MODE: 'restore_counters' } });
  });
  afterAll(async () => restoring.close());

  it('gives the refunded amount back to the counters (REFUND_BUSINESS_MODE=restore_counters)', async () => {
    const card = await seedBusinessCard(restoring.app.postgres.sql);
    const purchase = jitBody({ ...card, amount: '25.00' });
    expect((await postJit(restoring.app, purchase)).statusCode).toBe(200);
    const clearing = followUpBody(card, purchase, 'pgfs.authorization.clearing', '25.00');
    expect((await postJit(restoring.app, clearing)).statusCode).toBe(200);
    const refund = jitBody({ ...card, method: 'pgfs.refund', amount: '10.00' });
    expect((await postJit(restoring.app, refund)).statusCode).toBe(200);
    const state = await restoring.app.authorizer.card_state.readState(card.user_token, card.card_token);
    expect(state.counters?.day).toMatchObject({ amount_minor: 1_500 });
  });
});
