import { currentCounters, type SimEvent, simulate, windowStarts } from '@afc/domain';
import type { RedisClient } from '@afc/redis';
import { createTestRedisPrefix } from '@afc/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CardStateStore, DecideRequest, ReleaseRequest } from '../src/index.ts';
import {
  authorization,
  business_card,
  closeClients,
  declinedBy,
  freshCard,
  now_ms,
  open_controls,
  outboxEvents,
  passed_deadline_ms,
  personal_card,
  seed,
  sharedRedis,
  storeOn,
  zeroCounters,
} from './helpers.ts';
import { scenario } from './scenario.ts';

const prefix = createTestRedisPrefix();
let redis: RedisClient;
let store: CardStateStore;

beforeAll(async () => {
  redis = await sharedRedis(prefix.prefix);
  store = await storeOn(redis);
});

afterAll(async () => {
  await closeClients([redis]);
  await prefix.cleanup();
});

const timeout_decline = { outcome: 'decline', decline_reason: 'TRANSACTION_NOT_PERMITTED', memo: 'timeout' };

// Everything the card's messages can have changed.
async function snapshot(card: { user_token: string; card_token: string }, jit_tokens: readonly string[]) {
  const holds = await Promise.all(jit_tokens.map((jit) => store.readHold(card.user_token, jit)));
  return { state: await store.readState(card.user_token, card.card_token), holds };
}

describe('release_after_timeout.lua', () => {
  it('after an approval: undoes it exactly, stores the timeout decline, emits timeout_released; idempotent', async () => {
    const card = freshCard(personal_card);
    await seed(store, { card, balance: { available_minor: 5_000, held_minor: 0 } });
    const request = authorization(card, { amount_minor: 1_200 });
    const before = await snapshot(card, [request.jit_token]);
    expect(await store.decide(request)).toMatchObject({ outcome: 'approve' });
    expect(await snapshot(card, [request.jit_token])).not.toEqual(before);
    const released = await store.releaseAfterTimeout(declinedBy('timeout', request));
    expect(released).toMatchObject({
      status: 'released',
      action: 'approval_undone',
      stored: {
        jit_token: request.jit_token,
        kind: 'authorization',
        amount_minor: 1_200,
        ...timeout_decline,
      },
      hold: null,
      balance_delta: { available_minor: 1_200, held_minor: -1_200 },
    });
    expect(await snapshot(card, [request.jit_token])).toEqual(before);
    expect(await store.decide(request)).toMatchObject({ outcome: 'replay', stored: timeout_decline });
    const again = await store.releaseAfterTimeout(declinedBy('timeout', request));
    expect(again).toMatchObject({ status: 'released', action: 'already_declined' });
    expect(await snapshot(card, [request.jit_token])).toEqual(before);
    const types = (await outboxEvents(redis, store, card.user_token))
      .filter((event) => event.jit_token === request.jit_token)
      .map((event) => [event.type, event.memo ?? null]);
    expect(types).toEqual([
      ['authorization.approved', null],
      ['authorization.timeout_released', 'timeout'],
    ]);
  });

  it('before any decision: a late decide answers the stored decline and holds nothing', async () => {
    const card = freshCard(business_card);
    await seed(store, { card });
    const request = authorization(card);
    expect(await store.releaseAfterTimeout(declinedBy('timeout', request))).toMatchObject({
      status: 'released',
      action: 'declined_before_decision',
    });
    expect(await store.releaseAfterTimeout(declinedBy('timeout', request))).toMatchObject({
      action: 'already_declined',
    });
    expect(await store.decide(request)).toMatchObject({ outcome: 'replay', stored: timeout_decline });
    expect((await store.readState(card.user_token, card.card_token)).counters).toEqual(zeroCounters());
    expect(await store.readHold(card.user_token, request.jit_token)).toBeNull();
  });

  it("stores the service's own memo: a replay after a system_error decline answers system_error", async () => {
    const card = freshCard(business_card);
    await seed(store, { card });
    const never_decided = authorization(card);
    expect(await store.releaseAfterTimeout(declinedBy('system_error', never_decided))).toMatchObject({
      action: 'declined_before_decision',
      stored: { memo: 'system_error', decline_reason: 'TRANSACTION_NOT_PERMITTED' },
    });
    expect(await store.decide(never_decided)).toMatchObject({
      outcome: 'replay',
      stored: { ...timeout_decline, memo: 'system_error' },
    });
    // The script ran, the service had failed meanwhile: the approval is undone under that memo.
    const approved = authorization(card);
    expect(await store.decide(approved)).toMatchObject({ outcome: 'approve' });
    expect(await store.releaseAfterTimeout(declinedBy('system_error', approved))).toMatchObject({
      action: 'approval_undone',
      stored: { memo: 'system_error' },
    });
    const released = (await outboxEvents(redis, store, card.user_token)).find(
      (event) => event.jit_token === approved.jit_token && event.type === 'authorization.timeout_released',
    );
    expect(released?.memo).toBe('system_error');
    // A decide that ran past its deadline stored its own timeout decline before the release
    // came: the service said system_error, so that is what a replay answers.
    const late = authorization(card, { deadline_at_ms: passed_deadline_ms });
    expect(await store.decide(late)).toMatchObject({ outcome: 'decline', memo: 'timeout' });
    expect(await store.releaseAfterTimeout(declinedBy('system_error', late))).toMatchObject({
      action: 'already_declined',
      stored: { memo: 'system_error' },
    });
    expect(await store.decide(late)).toMatchObject({
      outcome: 'replay',
      stored: { ...timeout_decline, memo: 'system_error' },
    });
    // Any other memo is a bad request: refused, nothing stored.
    const other = authorization(card);
    const bad = { ...declinedBy('timeout', other), memo: 'card_expired' } as unknown as ReleaseRequest;
    await expect(store.releaseAfterTimeout(bad)).rejects.toMatchObject({ code: 'AFC_CARD_STATE_INVALID' });
    expect(await store.readDecision(card.user_token, other.jit_token)).toBeNull();
  });

  it('an incremental: the original hold goes back to what it was before the increment', async () => {
    const card = freshCard(business_card);
    await seed(store, { card });
    const original = authorization(card);
    await store.decide(original);
    const incremental: DecideRequest = authorization(card, {
      kind: 'incremental',
      method: 'pgfs.authorization.incremental',
      original_jit_token: original.jit_token,
      amount_minor: 300,
    });
    const before = await snapshot(card, [original.jit_token]);
    expect(await store.decide(incremental)).toMatchObject({
      outcome: 'approve',
      hold: { amount_minor: 1_300 },
    });
    expect(await store.releaseAfterTimeout(declinedBy('timeout', incremental))).toMatchObject({
      action: 'approval_undone',
    });
    expect(await snapshot(card, [original.jit_token])).toEqual(before);
  });

  it('a balance answer is withdrawn; another kind or amount under the token is a mismatch, untouched', async () => {
    const card = freshCard(business_card);
    await seed(store, { card });
    const inquiry = authorization(card, {
      kind: 'balance_inquiry',
      method: 'pgfs.balanceinquiry',
      amount_minor: 0,
    });
    await store.decide(inquiry);
    expect(await store.releaseAfterTimeout(declinedBy('timeout', inquiry))).toMatchObject({
      action: 'balance_withdrawn',
    });
    expect(await store.decide(inquiry)).toMatchObject({ outcome: 'replay', stored: timeout_decline });
    const request = authorization(card);
    await store.decide(request);
    const before = await snapshot(card, [request.jit_token]);
    const other: ReleaseRequest = declinedBy('timeout', { ...request, amount_minor: 999 });
    expect(await store.releaseAfterTimeout(other)).toMatchObject({
      status: 'mismatch',
      stored: { outcome: 'approve' },
    });
    expect(await snapshot(card, [request.jit_token])).toEqual(before);
  });

  it('a hold partly captured meanwhile: releases what is still held and keeps the record', async () => {
    const card = freshCard(business_card);
    await seed(store, { card });
    const request = authorization(card);
    await store.decide(request);
    await store.apply({
      ...request,
      kind: 'clearing',
      method: 'pgfs.authorization.clearing',
      jit_token: `${request.jit_token}-c`,
      original_jit_token: request.jit_token,
      amount_minor: 400,
    });
    const released = await store.releaseAfterTimeout(declinedBy('timeout', request));
    expect(released).toMatchObject({
      action: 'approval_undone',
      hold: { amount_minor: 0, captured_minor: 400, released_minor: 600 },
    });
    const day = (await store.readState(card.user_token, card.card_token)).counters?.day;
    expect(day).toEqual({ start: windowStarts(now_ms).day, amount_minor: 400, count: 1 });
  });
});

describe('release_after_timeout.lua: the answer to the newest request stands', () => {
  // Two requests for one token: the first got no answer to Marqeta in time, Marqeta resent it a
  // second later (Marqeta acts on the answer to its latest request).
  async function tokenTwice(personal: boolean, amount_minor: number) {
    const card = freshCard(personal ? personal_card : business_card);
    await seed(store, personal ? { card, balance: { available_minor: 5_000, held_minor: 0 } } : { card });
    const request = authorization(card, { amount_minor });
    const first = { ...request, request_id: `${request.jit_token}-first` };
    const resent = { ...request, request_id: `${request.jit_token}-resent`, now_ms: request.now_ms + 1_000 };
    const state = () => snapshot(card, [request.jit_token]);
    return { card, first, resent, state, before: await state() };
  }

  it("leaves an approval a replay answered to the resend in time; the resend's own release undoes it", async () => {
    const { first, resent, state, before } = await tokenTwice(true, 1_200);
    // The first request's script approved after its deadline by our clock; the resend replays it.
    expect(await store.decide(first)).toMatchObject({ outcome: 'approve' });
    expect(await store.decide(resent)).toMatchObject({ outcome: 'replay', stored: { outcome: 'approve' } });
    const approved = await state();
    expect(await store.releaseAfterTimeout(declinedBy('timeout', first))).toMatchObject({
      status: 'superseded',
      stored: { outcome: 'approve' },
    });
    expect(await state()).toEqual(approved);
    expect(await store.decide(resent)).toMatchObject({ outcome: 'replay', stored: { outcome: 'approve' } });
    // The replay's answer reached the service too late after all: its decline is the latest.
    expect(await store.releaseAfterTimeout(declinedBy('timeout', resent))).toMatchObject({
      status: 'released',
      action: 'approval_undone',
    });
    expect(await state()).toEqual(before);
  });

  it("a replay past its own deadline takes nothing: the newer request's release undoes the approval", async () => {
    const { card, first, resent: resent_in_time, state, before } = await tokenTwice(false, 800);
    const resent = { ...resent_in_time, deadline_at_ms: passed_deadline_ms };
    expect(await store.decide(first)).toMatchObject({ outcome: 'approve' });
    expect(await store.decide(resent)).toMatchObject({ outcome: 'replay', stored: { outcome: 'approve' } });
    expect(await store.readDecision(card.user_token, first.jit_token)).toMatchObject({
      by: first.request_id,
    });
    expect(await store.releaseAfterTimeout(declinedBy('timeout', first))).toMatchObject({
      action: 'approval_undone',
    });
    expect(await state()).toEqual(before);
  });

  it('leaves an approval a newer request decided after this one failed before its script ran', async () => {
    const { first, resent, state } = await tokenTwice(false, 700);
    expect(await store.decide(resent)).toMatchObject({ outcome: 'approve' });
    const approved = await state();
    expect(await store.releaseAfterTimeout(declinedBy('system_error', first))).toMatchObject({
      status: 'superseded',
    });
    expect(await state()).toEqual(approved);
  });

  it("undoes an older request's approval when the resend failed: the resend's decline is the latest answer", async () => {
    const { first, resent, state, before } = await tokenTwice(false, 600);
    // Answered approve in time, but the answer was lost on its way: Marqeta resent the token,
    // and the resend failed before its script ran.
    expect(await store.decide(first)).toMatchObject({ outcome: 'approve' });
    expect(await store.releaseAfterTimeout(declinedBy('system_error', resent))).toMatchObject({
      action: 'approval_undone',
    });
    expect(await state()).toEqual(before);
  });

  it('undoes its own approval, even with its script run twice (a resent command)', async () => {
    const { first, state, before } = await tokenTwice(false, 900);
    expect(await store.decide(first)).toMatchObject({ outcome: 'approve' });
    // ioredis resent the script after a reconnect: the same request finds its own decision.
    expect(await store.decide(first)).toMatchObject({ outcome: 'replay' });
    expect(await store.releaseAfterTimeout(declinedBy('timeout', first))).toMatchObject({
      status: 'released',
      action: 'approval_undone',
    });
    expect(await state()).toEqual(before);
  });

  it("settlement's release (Marqeta declined: no request id) undoes an approval whoever was answered", async () => {
    const { first, resent, state, before } = await tokenTwice(false, 500);
    expect(await store.decide(first)).toMatchObject({ outcome: 'approve' });
    expect(await store.decide(resent)).toMatchObject({ outcome: 'replay' });
    const { request_id: _unused, ...marqeta_declined } = first;
    expect(await store.releaseAfterTimeout(declinedBy('timeout', marqeta_declined))).toMatchObject({
      action: 'approval_undone',
    });
    expect(await state()).toEqual(before);
  });

  it('a release that came first: the resend is answered its decline, which no release undoes', async () => {
    const { first, resent } = await tokenTwice(false, 900);
    expect(await store.releaseAfterTimeout(declinedBy('timeout', first))).toMatchObject({
      action: 'declined_before_decision',
    });
    expect(await store.decide(resent)).toMatchObject({ outcome: 'replay', stored: timeout_decline });
    expect(await store.decide(first)).toMatchObject({ outcome: 'replay', stored: timeout_decline });
    expect(await store.releaseAfterTimeout(declinedBy('timeout', first))).toMatchObject({
      action: 'already_declined',
    });
  });
});

describe('release_after_timeout.lua: undoing an approval at once equals never approving it (property)', () => {
  it('same counters, holds and wallet as the domain run without the released messages', async () => {
    let run = 0;
    const op = fc.record({
      incremental: fc.boolean(),
      amount: fc.integer({ min: 1, max: 3_000 }),
      release: fc.boolean(),
      target: fc.nat(20),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 15 }),
        fc.integer({ min: 0, max: 20_000 }),
        async (ops, available) => {
          run += 1;
          const card = freshCard(personal_card);
          const controls = { ...open_controls, daily_limit_minor: 12_000, daily_count_limit: 6 };
          const wallet = { available_minor: available, held_minor: 0 };
          await seed(store, { card, controls, balance: wallet });
          const kept: SimEvent[] = [];
          const auths: string[] = [];
          for (const [i, o] of ops.entries()) {
            const original = o.incremental ? auths[o.target % Math.max(1, auths.length)] : undefined;
            const request = authorization(card, {
              jit_token: `rel-${run}-${i}-${card.card_token}`,
              amount_minor: o.amount,
              ...(original === undefined
                ? {}
                : {
                    kind: 'incremental',
                    method: 'pgfs.authorization.incremental',
                    original_jit_token: original,
                  }),
            });
            const result = await store.decide(request);
            if (request.kind === 'authorization') auths.push(request.jit_token);
            const approved = result.status === 'decided' && result.outcome === 'approve';
            if (o.release && approved) await store.releaseAfterTimeout(declinedBy('timeout', request));
            else kept.push({ ...request, method: request.method });
          }
          const expected = simulate(
            scenario([{ card, controls, balance: wallet }], kept).initial,
            kept,
          ).state;
          const actual = await store.readState(card.user_token, card.card_token);
          expect(actual.counters).toEqual(currentCounters(expected.counters.get(card.card_token), now_ms));
          expect(actual.balance).toEqual(expected.balances.get(card.user_token));
          for (const jit of auths) {
            expect(await store.readHold(card.user_token, jit)).toEqual(expected.holds.get(jit) ?? null);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
