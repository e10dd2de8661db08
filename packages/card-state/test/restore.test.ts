import type { RedisClient } from '@afc/redis';
import { createTestRedisPrefix } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CardStateStore, RestoreRequest } from '../src/index.ts';
import {
  authorization,
  business_card,
  closeClients,
  countedToday,
  declinedBy,
  freshCard,
  informative,
  jit,
  open_controls,
  outboxEvents,
  passed_deadline_ms,
  personal_card,
  seed,
  sharedRedis,
  storeOn,
} from './helpers.ts';

// restoreApproval (apply.lua, restore): an authorization Marqeta approved that Redis knows
// nothing of is held and counted once, and reported as the approval itself; anything Redis
// knows of the token leaves it alone.
const prefix = createTestRedisPrefix();
let redis: RedisClient;
let store: CardStateStore;

beforeAll(async () => {
  redis = await sharedRedis(prefix.prefix);
  store = await storeOn(redis, 'counters_unchanged');
});

afterAll(async () => {
  await closeClients([redis]);
  await prefix.cleanup();
});

const today = countedToday;

// The message of an authorization, as settlement rebuilds it from Marqeta's webhook.
function restoreOf(card: typeof business_card, overrides: Partial<RestoreRequest> = {}): RestoreRequest {
  const { kind: _, ...message } = informative(card, 'advice', {
    method: 'pgfs.authorization',
    amount_minor: 2_500,
  });
  return { ...message, amount_minor: 2_500, ...overrides };
}

async function stateOf(card: typeof business_card) {
  return store.readState(card.user_token, card.card_token);
}

describe('restoreApproval', () => {
  it('holds and counts an approval Redis never saw, once, and reports it as the approval', async () => {
    const card = freshCard(business_card);
    await seed(store, { card });
    const request = restoreOf(card);
    const result = await store.restoreApproval(request);
    expect(result).toMatchObject({ status: 'applied', note: 'standin_held' });
    expect(await store.readHold(card.user_token, request.jit_token)).toMatchObject({
      amount_minor: 2_500,
      authorized_minor: 2_500,
      on_expiry: 'release',
    });
    expect((await stateOf(card)).counters).toEqual(today(2_500, 1));
    const events = await outboxEvents(redis, store, card.user_token);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      event_id: `${request.jit_token}:authorization.approved`,
      type: 'authorization.approved',
      kind: 'authorization',
      method: 'pgfs.authorization',
      amount_minor: 2_500,
      program: 'business',
      note: 'standin_held',
      counter_deltas: [{ amount_minor: 2_500, count: 1 }],
    });

    expect(await store.restoreApproval(request)).toEqual({ status: 'known' });
    expect((await stateOf(card)).counters).toEqual(today(2_500, 1));
    expect(await outboxEvents(redis, store, card.user_token)).toHaveLength(1);
  });

  it('leaves alone a token Redis approved, undid an approval of, or holds a purchase for', async () => {
    const card = freshCard(business_card);
    await seed(store, { card });
    const approved = authorization(card, { amount_minor: 1_000 });
    expect(await store.decide(approved)).toMatchObject({ outcome: 'approve' });
    // A clearing that came after Redis lost the authorization: a force post, counted.
    const cleared_first = jit();
    await store.apply(
      informative(card, 'clearing', { original_jit_token: cleared_first, amount_minor: 700 }),
    );
    // Approved by a script that finished past the deadline, then undone: we answered a timeout
    // decline, and the approval's event is on its way under the id a restore would use.
    const late = authorization(card, { amount_minor: 400 });
    expect(await store.decide(late)).toMatchObject({ outcome: 'approve' });
    expect(await store.releaseAfterTimeout(declinedBy('timeout', late))).toMatchObject({
      action: 'approval_undone',
    });
    expect(await store.readDecision(card.user_token, late.jit_token)).toMatchObject({ undone: true });
    // A retry answered from the record keeps the mark.
    expect(await store.decide(late)).toMatchObject({ outcome: 'replay', stored: { memo: 'timeout' } });
    const before = await stateOf(card);
    const events = (await outboxEvents(redis, store, card.user_token)).length;
    for (const jit_token of [approved.jit_token, cleared_first, late.jit_token]) {
      expect(await store.restoreApproval(restoreOf(card, { jit_token }))).toEqual({ status: 'known' });
    }
    expect(await stateOf(card)).toEqual(before);
    expect(await outboxEvents(redis, store, card.user_token)).toHaveLength(events);
    expect(await store.readHold(card.user_token, approved.jit_token)).toMatchObject({ amount_minor: 1_000 });
  });

  it('holds and counts what Marqeta stood in for after our decline, and replays still answer the decline', async () => {
    const card = freshCard(business_card);
    await seed(store, { card, controls: { ...open_controls, per_transaction_limit_minor: 2_000 } });
    const declined = authorization(card, { amount_minor: 2_500 });
    expect(await store.decide(declined)).toMatchObject({
      outcome: 'decline',
      decline_reason: 'AMOUNT_LIMIT_EXCEEDED',
    });
    const restore = restoreOf(card, { jit_token: declined.jit_token });
    expect(await store.restoreApproval(restore)).toMatchObject({ status: 'applied', note: 'standin_held' });
    expect(await store.readHold(card.user_token, declined.jit_token)).toMatchObject({
      amount_minor: 2_500,
      authorized_minor: 2_500,
    });
    expect((await stateOf(card)).counters).toEqual(today(2_500, 1));
    const approvals = (await outboxEvents(redis, store, card.user_token)).filter(
      (event) => event.type === 'authorization.approved',
    );
    expect(approvals).toMatchObject([{ event_id: `${declined.jit_token}:authorization.approved` }]);
    // Marqeta's retry of the JIT request gets the answer we gave; nothing is counted again.
    expect(await store.decide(declined)).toMatchObject({
      outcome: 'replay',
      stored: { outcome: 'decline', decline_reason: 'AMOUNT_LIMIT_EXCEEDED' },
    });
    expect(await store.restoreApproval(restore)).toEqual({ status: 'known' });
    expect((await stateOf(card)).counters).toEqual(today(2_500, 1));
  });

  it("holds what Marqeta stood in for after the service's own decline (timeout, system_error)", async () => {
    const card = freshCard(business_card);
    await seed(store, { card });
    // decide.lua past its deadline declines by itself; a release before any decision stores one.
    const late = authorization(card, { amount_minor: 600, deadline_at_ms: passed_deadline_ms });
    expect(await store.decide(late)).toMatchObject({ outcome: 'decline', memo: 'timeout' });
    const never_decided = authorization(card, { amount_minor: 300 });
    expect(await store.releaseAfterTimeout(declinedBy('system_error', never_decided))).toMatchObject({
      action: 'declined_before_decision',
    });
    for (const request of [late, never_decided]) {
      const restore = restoreOf(card, { jit_token: request.jit_token, amount_minor: request.amount_minor });
      expect(await store.restoreApproval(restore)).toMatchObject({ status: 'applied', note: 'standin_held' });
    }
    expect((await stateOf(card)).counters).toEqual(today(900, 2));
    expect(await store.decide(never_decided)).toMatchObject({
      outcome: 'replay',
      stored: { memo: 'system_error' },
    });
  });

  it('holds what a reversal that came first left of the purchase, counted once', async () => {
    const card = freshCard(business_card);
    await seed(store, { card });
    const [partly, wholly] = [jit(), jit()];
    await store.apply(informative(card, 'reversal', { original_jit_token: partly, amount_minor: 1_000 }));
    await store.apply(informative(card, 'reversal', { original_jit_token: wholly, amount_minor: 2_500 }));
    expect(await store.restoreApproval(restoreOf(card, { jit_token: partly }))).toMatchObject({
      status: 'applied',
      note: 'advice_raised',
    });
    expect(await store.readHold(card.user_token, partly)).toMatchObject({ amount_minor: 1_500 });
    expect(await store.restoreApproval(restoreOf(card, { jit_token: wholly }))).toMatchObject({
      status: 'applied',
      note: 'advice_unchanged',
    });
    expect(await store.readHold(card.user_token, wholly)).toMatchObject({ amount_minor: 0 });
    expect((await stateOf(card)).counters).toEqual(today(1_500, 1));
    expect(await store.restoreApproval(restoreOf(card, { jit_token: partly }))).toEqual({ status: 'known' });
  });

  it('asks for the card when Redis has none of it, or only its tombstone, and writes nothing', async () => {
    const absent = freshCard(business_card);
    expect(await store.restoreApproval(restoreOf(absent))).toEqual({ status: 'missing', missing: ['card'] });
    const tombstoned = freshCard(business_card);
    await store.writeUnknownCard(tombstoned.user_token, tombstoned.card_token, 60);
    const request = restoreOf(tombstoned);
    expect(await store.restoreApproval(request)).toEqual({ status: 'missing', missing: ['card'] });
    expect(await store.readDecision(tombstoned.user_token, request.jit_token)).toBeNull();
    expect(await outboxEvents(redis, store, tombstoned.user_token)).toHaveLength(0);
  });

  it("moves a personal wallet's available to held, and a single-message one is captured at expiry", async () => {
    const card = freshCard(personal_card);
    await seed(store, { card, balance: { available_minor: 10_000, held_minor: 0 } });
    const request = restoreOf(card, { method: 'pgfs.auth_plus_capture', single_message: true });
    expect(await store.restoreApproval(request)).toMatchObject({
      status: 'applied',
      balance_delta: { available_minor: -2_500, held_minor: 2_500 },
    });
    expect((await stateOf(card)).balance).toEqual({ available_minor: 7_500, held_minor: 2_500 });
    expect(await store.readHold(card.user_token, request.jit_token)).toMatchObject({ on_expiry: 'capture' });
  });

  it('refuses a request that names an original', async () => {
    const card = freshCard(business_card);
    const request = { ...restoreOf(card), original_jit_token: jit() };
    await expect(store.restoreApproval(request)).rejects.toMatchObject({ code: 'AFC_CARD_STATE_INVALID' });
  });
});
