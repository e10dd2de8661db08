import { OutboxEvent } from '@afc/card-state';
import { windowStarts } from '@afc/domain';
import { Value } from '@sinclair/typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Card, HoldModel, webhookOf } from './events.ts';
import { type Harness, startSettlement } from './harness.ts';
import {
  authorizationOf,
  drainOutbox,
  seedActiveBusinessCard,
  seedActivePersonalCard,
} from './ops-harness.ts';
import { nextToken, seedBusinessCard, seedPersonalCard } from './seed.ts';

// An authorization only Marqeta reported (its approval lost with Redis before it left the
// outbox, or Marqeta's stand-in approved while the gateway was unreachable): settlement holds
// and counts it in Redis, and the books follow through the approval's own event id, once.
let h: Harness;

beforeAll(async () => {
  h = await startSettlement();
}, 60_000);

afterAll(async () => {
  await h?.close();
}, 60_000);

function fromAuthorizer(event: OutboxEvent) {
  return h.handle(event.type, event.event_id, event);
}

function fromMarqeta(webhook: Record<string, unknown>) {
  const payload = { type: 'transactions', event: webhook, received_at: new Date().toISOString() };
  return h.handle('webhook.transactions', String(webhook.token), payload);
}

// What the relay would publish for this cardholder (the partition's stream is shared).
async function outbox(card: Card): Promise<OutboxEvent[]> {
  const key = h.cards.keys(card.user_token, card.card_token).outbox;
  const entries = await h.app.redis.xrange(key, '-', '+');
  const events = entries.map(([, fields]) => {
    const event: unknown = JSON.parse(fields[1] ?? 'null');
    if (!Value.Check(OutboxEvent, event)) throw new Error(`not an OutboxEvent: ${fields[1]}`);
    return event;
  });
  return events.filter((event) => event.user_token === card.user_token);
}

async function totals(card_id: string) {
  const rows = await h.app.postgres.sql`
    select amount_minor, count from spending_totals where card_id = ${card_id} order by window_kind`;
  return rows.map((t) => [t.amount_minor, t.count]);
}

async function row(jit_token: string) {
  const [found] = await h.app.postgres.sql`
    select state, authorized_minor, memo from transactions where jit_token = ${jit_token}`;
  return found;
}

const now_ms = Date.now();
const s = windowStarts(now_ms);
const today = (amount_minor: number, count: number) => ({
  day: { start: s.day, amount_minor, count },
  week: { start: s.week, amount_minor, count },
  month: { start: s.month, amount_minor, count },
});

describe('an approval only Marqeta reported', () => {
  it('is held and counted in Redis once, and the books count it once, whichever report comes first', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql);
    const hold = new HoldModel(card, nextToken('jit'), now_ms);
    const approval = hold.authorize(2_500);
    // Redis has nothing of this card: settlement loads it from the books, then holds the approval.
    expect(await fromMarqeta(webhookOf(approval, nextToken('tx')))).toBe('applied');
    expect(await h.cards.readHold(card.user_token, hold.jit_token)).toMatchObject({
      amount_minor: 2_500,
      authorized_minor: 2_500,
    });
    expect((await h.cards.readState(card.user_token, card.card_token)).counters).toEqual(today(2_500, 1));

    const [restored, ...others] = await outbox(card);
    expect(others).toEqual([]);
    expect(restored).toMatchObject({
      event_id: approval.event_id,
      type: 'authorization.approved',
      note: 'standin_held',
    });
    if (restored === undefined) throw new Error('no restored approval');
    expect(await fromAuthorizer(restored)).toBe('applied');
    // The original approval, had it left the outbox after all, is the same event: a duplicate.
    expect(await fromAuthorizer(approval)).toBe('duplicate');
    expect(await totals(card.card_id)).toEqual([
      [2_500, 1],
      [2_500, 1],
      [2_500, 1],
    ]);
    expect(await row(hold.jit_token)).toMatchObject({ state: 'pending', authorized_minor: 2_500 });

    // Marqeta repeats it under another event token: the books have the approval, nothing moves.
    expect(await fromMarqeta(webhookOf(approval, nextToken('tx')))).toBe('applied');
    expect((await h.cards.readState(card.user_token, card.card_token)).counters).toEqual(today(2_500, 1));
    expect(await outbox(card)).toHaveLength(1);
  });

  it("is left alone when the books already have the authorizer's approval (Redis lost it later)", async () => {
    const card = await seedBusinessCard(h.app.postgres.sql);
    const hold = new HoldModel(card, nextToken('jit'), now_ms);
    const approval = hold.authorize(1_200);
    expect(await fromAuthorizer(approval)).toBe('applied');
    expect(await fromMarqeta(webhookOf(approval, nextToken('tx')))).toBe('applied');
    // Nothing loaded, nothing held: rebuild-redis restores this hold from its ledger row.
    expect(await h.cards.readState(card.user_token, card.card_token)).toMatchObject({
      card: null,
      counters: null,
    });
    expect(await h.cards.readHold(card.user_token, hold.jit_token)).toBeNull();
    expect(await totals(card.card_id)).toEqual([
      [1_200, 1],
      [1_200, 1],
      [1_200, 1],
    ]);
  });

  it('holds a personal approval in the wallet, in Redis and in the personal store', async () => {
    const funded_minor = 50_000;
    const card = await seedPersonalCard(h.app.personalStore, funded_minor);
    const hold = new HoldModel(card, nextToken('jit'), now_ms, 'personal');
    const approval = hold.authorize(4_000);
    expect(await fromMarqeta(webhookOf(approval, nextToken('tx')))).toBe('applied');
    expect((await h.cards.readState(card.user_token, card.card_token)).balance).toEqual({
      available_minor: funded_minor - 4_000,
      held_minor: 4_000,
    });
    const [restored] = await outbox(card);
    if (restored === undefined) throw new Error('no restored approval');
    expect(await fromAuthorizer(restored)).toBe('applied');
    expect(await h.app.personalStore.getWallet(card.user_token)).toMatchObject({
      available_minor: funded_minor - 4_000,
      held_minor: 4_000,
    });
  });

  it('holds nothing when its reversal came first (Redis empty): the reversal left its mark', async () => {
    const funded_minor = 30_000;
    const card = await seedPersonalCard(h.app.personalStore, funded_minor);
    const hold = new HoldModel(card, nextToken('jit'), now_ms, 'personal');
    const approval = hold.authorize(4_000);
    const reversal = hold.reverse(4_000);
    // Redis knows nothing of the card: the reversal loads it and leaves an empty hold.
    expect(await fromMarqeta(webhookOf(reversal, nextToken('tx')))).toBe('applied');
    expect(await h.cards.readHold(card.user_token, hold.jit_token)).toMatchObject({
      amount_minor: 0,
      reversed_beyond_minor: 4_000,
    });
    expect(await fromMarqeta(webhookOf(approval, nextToken('tx')))).toBe('applied');
    for (const event of await outbox(card)) expect(await fromAuthorizer(event)).toBe('applied');
    const wallet = { available_minor: funded_minor, held_minor: 0 };
    expect((await h.cards.readState(card.user_token, card.card_token)).balance).toEqual(wallet);
    expect(await h.app.personalStore.getWallet(card.user_token)).toMatchObject(wallet);
    expect(await h.app.personalStore.getTransaction(hold.jit_token)).toMatchObject({ state: 'reversed' });
  });

  it('counts a purchase once when its clearing came first (a force post), whatever the amounts', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql);
    const hold = new HoldModel(card, nextToken('jit'), now_ms);
    const approval = hold.authorize(3_000);
    const clearing = hold.clear(3_300);
    expect(await fromMarqeta(webhookOf(clearing, nextToken('tx')))).toBe('applied');
    expect(await fromMarqeta(webhookOf(approval, nextToken('tx')))).toBe('applied');
    const events = await outbox(card);
    expect(events.map((e) => e.type)).toEqual(['transaction.cleared']);
    for (const event of events) expect(await fromAuthorizer(event)).toBe('applied');
    expect((await h.cards.readState(card.user_token, card.card_token)).counters).toEqual(today(3_300, 1));
    expect(await totals(card.card_id)).toEqual([
      [3_300, 1],
      [3_300, 1],
      [3_300, 1],
    ]);
    expect(await row(hold.jit_token)).toMatchObject({ state: 'cleared' });
  });

  it('is not restored on a row that already says what became of the purchase', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql);
    const hold = new HoldModel(card, nextToken('jit'), now_ms);
    const approval = hold.authorize(2_000);
    // The authorizer applied the reversal and its event was filed; then Redis lost everything.
    expect(await fromAuthorizer(hold.reverse(2_000))).toBe('applied');
    expect(await fromMarqeta(webhookOf(approval, nextToken('tx')))).toBe('applied');
    expect(await h.cards.readHold(card.user_token, hold.jit_token)).toBeNull();
    expect(await h.cards.readState(card.user_token, card.card_token)).toMatchObject({
      card: null,
      counters: null,
    });
  });

  it('holds the rest of a purchase reversed in part before its approval came, counted once', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql);
    const hold = new HoldModel(card, nextToken('jit'), now_ms);
    const approval = hold.authorize(3_000);
    const reversal = hold.reverse(1_000);
    expect(await fromMarqeta(webhookOf(reversal, nextToken('tx')))).toBe('applied');
    expect(await fromMarqeta(webhookOf(approval, nextToken('tx')))).toBe('applied');
    expect(await h.cards.readHold(card.user_token, hold.jit_token)).toMatchObject({ amount_minor: 2_000 });
    for (const event of await outbox(card)) expect(await fromAuthorizer(event)).toBe('applied');
    expect((await h.cards.readState(card.user_token, card.card_token)).counters).toEqual(today(2_000, 1));
    expect(await totals(card.card_id)).toEqual([
      [2_000, 1],
      [2_000, 1],
      [2_000, 1],
    ]);
    expect(await row(hold.jit_token)).toMatchObject({ state: 'pending', authorized_minor: 3_000 });
    const [reversed] = await h.app.postgres
      .sql`select reversed_minor from transactions where jit_token = ${hold.jit_token}`;
    expect(reversed).toMatchObject({ reversed_minor: 1_000 });
  });
  it("is held and counted when Marqeta's stand-in approved what our rules declined, whichever report comes first", async () => {
    for (const webhook_first of [false, true]) {
      const card = await seedActiveBusinessCard(h, now_ms);
      const controls = { mcc_allow: [], mcc_block: [], blocked_merchant_ids: [], blocked_countries: [] };
      await h.cards.writeControls(card.user_token, card.card_token, {
        ...controls,
        per_transaction_limit_minor: 2_000,
        version: 1,
      });
      const request = authorizationOf(card, 2_500, now_ms);
      const [declined, ...more] = await drainOutbox(h.app, h.cards, card.user_token, () =>
        h.cards.decide(request),
      );
      expect(more).toEqual([]);
      expect(declined).toMatchObject({
        type: 'authorization.declined',
        decline_reason: 'AMOUNT_LIMIT_EXCEEDED',
      });
      if (declined === undefined) throw new Error('no decline');
      // Our 402 never reached Marqeta; its stand-in approved, and its webhook says so.
      const approval = new HoldModel(card, request.jit_token, now_ms).authorize(2_500);
      const standin = webhookOf(approval, nextToken('tx'));
      const gpa_order = standin.gpa_order as { funding: { gateway_log: { timed_out: boolean } } };
      gpa_order.funding.gateway_log.timed_out = true;
      if (!webhook_first) expect(await fromAuthorizer(declined)).toBe('applied');
      expect(await fromMarqeta(standin)).toBe('applied');
      if (webhook_first) expect(await fromAuthorizer(declined)).toBe('applied');

      expect(await h.cards.readHold(card.user_token, request.jit_token)).toMatchObject({
        amount_minor: 2_500,
      });
      expect((await h.cards.readState(card.user_token, card.card_token)).counters).toEqual(today(2_500, 1));
      const events = await outbox(card);
      expect(events).toMatchObject([{ event_id: approval.event_id, note: 'standin_held' }]);
      for (const event of events) expect(await fromAuthorizer(event)).toBe('applied');
      expect(await totals(card.card_id)).toEqual([
        [2_500, 1],
        [2_500, 1],
        [2_500, 1],
      ]);
      expect(await row(request.jit_token)).toMatchObject({
        state: 'pending',
        authorized_minor: 2_500,
        memo: null,
      });
      // Marqeta's retry of the JIT request still gets the decline we answered; nothing moves.
      expect(await h.cards.decide(request)).toMatchObject({
        outcome: 'replay',
        stored: { outcome: 'decline' },
      });
      expect((await h.cards.readState(card.user_token, card.card_token)).counters).toEqual(today(2_500, 1));
    }
  });
  it("holds a personal purchase Marqeta's stand-in approved past the wallet we declined it for", async () => {
    const card = await seedActivePersonalCard(h, 1_000, now_ms);
    const request = authorizationOf(card, 2_500, now_ms);
    const [declined] = await drainOutbox(h.app, h.cards, card.user_token, () => h.cards.decide(request));
    expect(declined).toMatchObject({ type: 'authorization.declined', decline_reason: 'INSUFFICIENT_FUNDS' });
    if (declined === undefined) throw new Error('no decline');
    expect(await fromAuthorizer(declined)).toBe('applied');
    const approval = new HoldModel(card, request.jit_token, now_ms, 'personal').authorize(2_500);
    expect(await fromMarqeta(webhookOf(approval, nextToken('tx')))).toBe('applied');
    // The money has gone: the wallet holds the purchase past what it had.
    const wallet = { available_minor: 1_000 - 2_500, held_minor: 2_500 };
    expect((await h.cards.readState(card.user_token, card.card_token)).balance).toEqual(wallet);
    for (const event of await outbox(card)) expect(await fromAuthorizer(event)).toBe('applied');
    // The store shows what is left (nothing) and keeps the rest as a shortfall a deposit pays first.
    expect(await h.app.personalStore.getWallet(card.user_token)).toMatchObject({
      available_minor: 0,
      held_minor: 2_500,
    });
    expect(await h.app.personalStore.getTransaction(request.jit_token)).toMatchObject({
      state: 'pending',
      authorized_minor: 2_500,
      decline_reason: null,
    });
  });
  it("is held and counted when Marqeta stood in after the service's own decline, made before any decision", async () => {
    const card = await seedActiveBusinessCard(h, now_ms);
    const request = authorizationOf(card, 1_500, now_ms);
    expect(await h.cards.releaseAfterTimeout({ ...request, memo: 'system_error' })).toMatchObject({
      action: 'declined_before_decision',
    });
    const approval = new HoldModel(card, request.jit_token, now_ms).authorize(1_500);
    expect(await fromMarqeta(webhookOf(approval, nextToken('tx')))).toBe('applied');
    expect((await h.cards.readState(card.user_token, card.card_token)).counters).toEqual(today(1_500, 1));
    for (const event of await outbox(card)) expect(await fromAuthorizer(event)).toBe('applied');
    expect(await totals(card.card_id)).toEqual([
      [1_500, 1],
      [1_500, 1],
      [1_500, 1],
    ]);
    expect(await row(request.jit_token)).toMatchObject({ state: 'pending', authorized_minor: 1_500 });
  });

  it('leaves an approval the service undid to its own events: Redis and the books count nothing', async () => {
    const card = await seedActiveBusinessCard(h, now_ms);
    const request = authorizationOf(card, 1_000, now_ms);
    const events = await drainOutbox(h.app, h.cards, card.user_token, async () => {
      await h.cards.decide(request);
      await h.cards.releaseAfterTimeout({ ...request, memo: 'timeout' });
    });
    expect(events.map((e) => e.type)).toEqual(['authorization.approved', 'authorization.timeout_released']);
    // Marqeta's stand-in approved anyway, and its webhook comes before our events.
    const approval = new HoldModel(card, request.jit_token, now_ms).authorize(1_000);
    expect(await fromMarqeta(webhookOf(approval, nextToken('tx')))).toBe('applied');
    expect(await outbox(card)).toEqual([]);
    for (const event of events) expect(await fromAuthorizer(event)).toBe('applied');
    expect((await h.cards.readState(card.user_token, card.card_token)).counters).toEqual(today(0, 0));
    expect(await totals(card.card_id)).toEqual([
      [0, 0],
      [0, 0],
      [0, 0],
    ]);
    expect(await row(request.jit_token)).toMatchObject({ state: 'declined' });
  });
  it("keeps a stand-in's advice over an approval the service undid open, counted once", async () => {
    const card = await seedActiveBusinessCard(h, now_ms);
    const request = authorizationOf(card, 1_000, now_ms);
    const { deadline_at_ms: _, ...fields } = request;
    const advice = {
      ...fields,
      kind: 'advice' as const,
      method: 'pgfs.authorization.advice',
      jit_token: nextToken('jit'),
      original_jit_token: request.jit_token,
    };
    const events = await drainOutbox(h.app, h.cards, card.user_token, async () => {
      await h.cards.decide(request);
      await h.cards.releaseAfterTimeout({ ...request, memo: 'timeout' });
      // Our timeout decline never reached Marqeta; its stand-in approved and told the gateway.
      expect(await h.cards.apply(advice)).toMatchObject({ status: 'applied', note: 'standin_held' });
    });
    for (const event of events) expect(await fromAuthorizer(event)).toBe('applied');
    const approval = new HoldModel(card, request.jit_token, now_ms).authorize(1_000);
    expect(await fromMarqeta(webhookOf(approval, nextToken('tx')))).toBe('applied');
    expect(await outbox(card)).toEqual([]);
    expect((await h.cards.readState(card.user_token, card.card_token)).counters).toEqual(today(1_000, 1));
    expect(await totals(card.card_id)).toEqual([
      [1_000, 1],
      [1_000, 1],
      [1_000, 1],
    ]);
    // Open, so the expiry sweep ends the advice's hold should no clearing come.
    expect(await row(request.jit_token)).toMatchObject({
      state: 'pending',
      authorized_minor: 1_000,
      memo: null,
    });
  });
});
