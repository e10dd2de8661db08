import { type OutboxEvent, readCardRecord, writeCardRecord } from '@afc/card-state';
import { currentCounters } from '@afc/domain';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Card, HoldModel, webhookOf } from './events.ts';
import { type Harness, startSettlement } from './harness.ts';
import { drainOutbox as drainPartition } from './ops-harness.ts';
import {
  emptyLedger,
  emptyPersonalLedger,
  nextToken,
  personalSnapshot,
  seedBusinessCard,
  seedPersonalCard,
  snapshot,
} from './seed.ts';

const funded_minor = 1_000_000;
let h: Harness;
let business: Card & { card_id: string };
let personal: Card;

beforeAll(async () => {
  h = await startSettlement();
  business = await seedBusinessCard(h.app.postgres.sql);
  personal = await seedPersonalCard(h.app.personalStore, funded_minor);
}, 60_000);

afterAll(async () => {
  await h?.close();
}, 60_000);

interface Message {
  readonly routing_key: string;
  readonly message_id: string;
  readonly payload: unknown;
}

function fromAuthorizer(event: OutboxEvent): Message {
  return { routing_key: event.type, message_id: event.event_id, payload: event };
}

function fromMarqeta(event: OutboxEvent): Message {
  const webhook = webhookOf(event, nextToken('tx'));
  const payload = { type: 'transactions', event: webhook, received_at: new Date().toISOString() };
  return { routing_key: 'webhook.transactions', message_id: String(webhook.token), payload };
}

// Who reports an effect: the authorizer alone, Marqeta alone (the authorizer's event was lost
// with Redis, or it never saw the message), or both (the usual case: counted once).
type Reporters = 'authorizer' | 'marqeta' | 'both';

function reported(event: OutboxEvent, by: Reporters): Message[] {
  if (by === 'authorizer') return [fromAuthorizer(event)];
  if (by === 'marqeta') return [fromMarqeta(event)];
  return [fromAuthorizer(event), fromMarqeta(event)];
}

const reporters = fc.constantFrom<Reporters>('authorizer', 'marqeta', 'both', 'both');
const step = fc.record({
  op: fc.constantFrom('increment', 'reverse', 'clear', 'clear', 'refund'),
  amount: fc.integer({ min: 1, max: 8_000 }),
  by: reporters,
});
const hold_spec = fc.record({
  program: fc.constantFrom<'business' | 'personal'>('business', 'personal'),
  first: fc.integer({ min: 1, max: 10_000 }),
  first_by: reporters,
  steps: fc.array(step, { maxLength: 5 }),
  // Marqeta declined after our approval (gateway_log.timed_out): no clearing follows.
  timeout: fc.option(reporters, { freq: 4 }),
  // We declined it: a row of its own that counts nothing.
  declined: fc.option(reporters, { freq: 6 }),
});
type HoldSpec = typeof hold_spec extends fc.Arbitrary<infer T> ? T : never;

function messagesOf(spec: HoldSpec): Message[] {
  const card = spec.program === 'business' ? business : personal;
  const hold = new HoldModel(card, nextToken('jit'), Date.UTC(2024, 9, 4, 12), spec.program);
  if (spec.declined !== null) return reported(hold.decline(hold.jit_token, spec.first), spec.declined);
  const messages = reported(hold.authorize(spec.first), spec.first_by);
  if (spec.timeout !== null) return [...messages, ...reported(hold.timeout(), spec.timeout)];
  for (const s of spec.steps) messages.push(...reported(hold[s.op](s.amount), s.by));
  return messages;
}

async function deliver(messages: readonly Message[]): Promise<void> {
  for (const m of messages) await h.handle(m.routing_key, m.message_id, m.payload);
}

async function books() {
  return {
    business: await snapshot(h.app.postgres.sql),
    personal: await personalSnapshot(h.app.postgres.sql),
  };
}

async function emptyBooks(): Promise<void> {
  await emptyLedger(h.app.postgres.sql);
  await emptyPersonalLedger(h.app.postgres.sql, funded_minor);
}

describe('the ledger whatever the order and however often (property)', () => {
  it('ends in the same rows, history, spending totals and wallets as one in-order delivery', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(hold_spec, { minLength: 1, maxLength: 3 }),
        fc.infiniteStream(fc.nat()),
        async (specs, random) => {
          const messages = specs.flatMap(messagesOf);
          await emptyBooks();
          await deliver(messages);
          const in_order = await books();
          await emptyBooks();
          const numbers = [...random.take(messages.length * 2)];
          // Every message at least once, about a third of them twice, in a random order.
          const copies = [...messages, ...messages.filter((_, i) => (numbers[i] ?? 0) % 3 === 0)];
          const keyed = copies.map((message, i) => ({ message, key: numbers[i % numbers.length] ?? 0, i }));
          keyed.sort((a, b) => a.key - b.key || a.i - b.i);
          await deliver(keyed.map((k) => k.message));
          expect(await books()).toEqual(in_order);
        },
      ),
      { numRuns: 30 },
    );
  }, 180_000);
});

async function row(jit_token: string) {
  const [found] = await h.app.postgres.sql`select * from transactions where jit_token = ${jit_token}`;
  return found;
}

async function totals() {
  return (
    await h.app.postgres.sql`
      select amount_minor, count from spending_totals where card_id = ${business.card_id} order by window_kind`
  ).map((t) => [t.amount_minor, t.count]);
}

describe('who reports what', () => {
  it('counts an effect both the authorizer and Marqeta report once, as the authorizer saw it', async () => {
    await emptyBooks();
    const hold = new HoldModel(business, nextToken('jit'));
    await deliver([...reported(hold.authorize(5_000), 'both'), ...reported(hold.clear(4_000), 'both')]);
    expect(await row(hold.jit_token)).toMatchObject({
      state: 'partially_cleared',
      requested_minor: 5_000,
      authorized_minor: 5_000,
      cleared_minor: 4_000,
      reversed_minor: 0,
    });
    expect(await totals()).toEqual([
      [5_000, 1],
      [5_000, 1],
      [5_000, 1],
    ]);
  });

  it('builds the row from Marqeta when the authorizer event was lost, and keeps it when it comes', async () => {
    await emptyBooks();
    const hold = new HoldModel(personal, nextToken('jit'), Date.UTC(2024, 9, 4, 12), 'personal');
    const approved = hold.authorize(2_500);
    await deliver([fromMarqeta(approved)]);
    const jit = hold.jit_token;
    expect(await h.app.personalStore.getTransaction(jit)).toMatchObject({
      state: 'pending',
      authorized_minor: 2_500,
      method: 'pgfs.authorization',
    });
    // Marqeta's word moved no wallet: Redis never counted it.
    expect(await h.app.personalStore.getWallet(personal.user_token)).toMatchObject({
      available_minor: funded_minor,
      held_minor: 0,
    });
    await deliver([fromAuthorizer(approved), fromMarqeta(hold.clear(2_500))]);
    expect(await h.app.personalStore.getTransaction(jit)).toMatchObject({
      state: 'cleared',
      authorized_minor: 2_500,
      cleared_minor: 2_500,
    });
    expect(await h.app.personalStore.getWallet(personal.user_token)).toMatchObject({
      available_minor: funded_minor - 2_500,
      held_minor: 2_500,
    });
  });

  it('ignores transactions the ledger has nothing to do with, and parks one it cannot link', async () => {
    const hold = new HoldModel(business, nextToken('jit'));
    const inquiry = fromMarqeta(hold.authorize(0));
    const webhook = (inquiry.payload as { event: Record<string, unknown> }).event;
    const gpa_order = webhook.gpa_order as { jit_funding: Record<string, unknown> };
    gpa_order.jit_funding.method = 'pgfs.balanceinquiry';
    expect(await h.handle(inquiry.routing_key, inquiry.message_id, inquiry.payload)).toBe('ignored');
    expect(await row(hold.jit_token)).toBeUndefined();
    const { gpa_order: _, ...unlinked } = webhook;
    const payload = { ...(inquiry.payload as object), event: unlinked };
    await expect(h.handle(inquiry.routing_key, inquiry.message_id, payload)).rejects.toMatchObject({
      code: 'AFC_SETTLEMENT_UNMATCHED_WEBHOOK',
    });
  });
});

// Runs `act`, then takes what it appended to the cardholder's outbox off it, as the relay does.
function drainOutbox(user_token: string, act: () => Promise<unknown>): Promise<OutboxEvent[]> {
  return drainPartition(h.app, h.cards, user_token, act);
}

async function loadIntoRedis(card: Card, now_ms: number): Promise<void> {
  await h.cards.writeCard({
    card_token: card.card_token,
    user_token: card.user_token,
    program: 'business',
    state: 'active',
    expiration_year: 2099,
    expiration_month: 12,
    currency: 'USD',
    version: 1,
  });
  const open = { mcc_allow: [], mcc_block: [], blocked_merchant_ids: [], blocked_countries: [], version: 0 };
  await h.cards.writeControls(card.user_token, card.card_token, open);
  await h.cards.writeCardholder({
    user_token: card.user_token,
    program: 'business',
    status: 'active',
    version: 1,
  });
  await h.cards.writeCounters(card.user_token, card.card_token, currentCounters(undefined, now_ms));
}

function authorizationOf(card: Card, amount_minor: number, now_ms: number) {
  return {
    kind: 'authorization' as const,
    single_message: false,
    method: 'pgfs.authorization',
    jit_token: nextToken('jit'),
    card_token: card.card_token,
    user_token: card.user_token,
    amount_minor,
    currency: 'USD',
    mcc: '5812',
    mid: 'mid-1',
    merchant_country: 'USA',
    now_ms,
    deadline_at_ms: Date.parse('2100-01-01T00:00:00Z'),
  };
}

// Empty books, a business card in Redis, and its approval of amount_minor decided now (its
// event taken off the outbox, not yet delivered).
async function approvedOnFreshCard(amount_minor: number) {
  await emptyBooks();
  const card = await seedBusinessCard(h.app.postgres.sql);
  const now_ms = Date.now();
  await loadIntoRedis(card, now_ms);
  const request = authorizationOf(card, amount_minor, now_ms);
  const [approved] = await drainOutbox(card.user_token, () => h.cards.decide(request));
  if (approved === undefined) throw new Error('no approval event');
  return { card, now_ms, request, approved };
}

describe('what only Marqeta reported', () => {
  it('applies a clearing the gateway never saw to Redis once, and the durable totals follow', async () => {
    const { card, now_ms, request, approved } = await approvedOnFreshCard(3_000);
    await deliver([fromAuthorizer(approved)]);
    // The clearing (a tip: 3_500 on a 3_000 hold) reaches settlement only as a webhook.
    const clearing: OutboxEvent = {
      ...approved,
      event_id: `${request.jit_token}-c:transaction.cleared`,
      type: 'transaction.cleared',
      kind: 'clearing',
      method: 'pgfs.authorization.clearing',
      jit_token: `${request.jit_token}-c`,
      original_jit_token: request.jit_token,
      amount_minor: 3_500,
      occurred_at_ms: now_ms + 1_000,
    };
    const webhook = fromMarqeta(clearing);
    const applied = await drainOutbox(card.user_token, () => deliver([webhook]));
    expect(applied.map((e) => [e.event_id, e.note])).toEqual([[clearing.event_id, 'over_captured']]);
    // The 500 beyond the hold was cleared of the same purchase: captured with it.
    expect(await h.cards.readHold(card.user_token, request.jit_token)).toMatchObject({
      amount_minor: 0,
      authorized_minor: 3_500,
      captured_minor: 3_500,
    });
    // Its event, relayed, is the authorizer-format report of the same effect: it supersedes the
    // webhook's and moves the durable totals by the excess Redis counted.
    await deliver(applied.map(fromAuthorizer));
    const again = await drainOutbox(card.user_token, () => deliver([webhook, fromMarqeta(clearing)]));
    expect(again).toEqual([]);
    expect(await row(request.jit_token)).toMatchObject({ state: 'cleared', cleared_minor: 3_500 });
    const durable = await h.app.postgres.sql`
      select amount_minor, count from spending_totals where card_id = ${card.card_id}`;
    expect(durable.map((t) => [t.amount_minor, t.count])).toEqual([
      [3_500, 1],
      [3_500, 1],
      [3_500, 1],
    ]);
  });
});

function settleWebhook(webhook: Record<string, unknown>) {
  const payload = { type: 'transactions', event: webhook, received_at: new Date().toISOString() };
  return h.handle('webhook.transactions', String(webhook.token), payload);
}

// Marqeta's webhook for an approval whose answer came too late (gateway_log.timed_out).
function timedOut(approved: OutboxEvent): Record<string, unknown> {
  return webhookOf({ ...approved, type: 'authorization.timeout_released', memo: 'timeout' }, nextToken('tx'));
}

describe('Marqeta declined after our approval', () => {
  it('loads the counters Redis lost and releases the hold, the totals given back once', async () => {
    const { card, request, approved } = await approvedOnFreshCard(2_300);
    await deliver([fromAuthorizer(approved)]);
    // Redis lost the card's counters, not the hold: the release has nothing to give back to.
    await h.app.redis.del(h.cards.keys(card.user_token, card.card_token).cardCounters);
    const webhook = timedOut(approved);
    const released = await drainOutbox(card.user_token, () => settleWebhook(webhook));
    expect(released.map((e) => e.type)).toEqual(['authorization.timeout_released']);
    expect(await h.cards.readHold(card.user_token, request.jit_token)).toBeNull();
    // Loaded from the durable totals, which counted the approval, then given back.
    const counters = (await h.cards.readState(card.user_token, card.card_token)).counters;
    expect(counters?.month).toMatchObject({ amount_minor: 0, count: 0 });
    await deliver(released.map(fromAuthorizer));
    expect(await row(request.jit_token)).toMatchObject({ state: 'declined', authorized_minor: 0 });
    const durable = await h.app.postgres.sql`
      select amount_minor, count from spending_totals where card_id = ${card.card_id}`;
    expect(durable.map((t) => [t.amount_minor, t.count])).toEqual([
      [0, 0],
      [0, 0],
      [0, 0],
    ]);
    expect(await drainOutbox(card.user_token, () => settleWebhook(webhook))).toEqual([]);
  });

  it('loads a personal wallet Redis lost only once the books count the approval: never available twice', async () => {
    await emptyBooks();
    const holder = await seedPersonalCard(h.app.personalStore, 10_000);
    const now_ms = Date.now();
    const sources = { sql: h.app.postgres.sql, personal_store: h.app.personalStore };
    const record = await readCardRecord(sources, holder.card_token, now_ms);
    if (record === undefined) throw new Error('seeded personal card not found');
    await writeCardRecord(h.cards, record);
    const [kept] = await drainOutbox(holder.user_token, () =>
      h.cards.decide(authorizationOf(holder, 3_000, now_ms)),
    );
    if (kept === undefined) throw new Error('no approval event');
    await deliver([fromAuthorizer(kept)]);
    const request = authorizationOf(holder, 2_000, now_ms);
    const [approved] = await drainOutbox(holder.user_token, () => h.cards.decide(request));
    if (approved === undefined) throw new Error('no approval event');
    // Redis lost the wallet while the approval's event was still on its way to the books: a
    // wallet read now would not hold it, and the release would make it available a second time.
    await h.app.redis.del(h.cards.keys(holder.user_token, holder.card_token).userBalance);
    const webhook = timedOut(approved);
    await expect(settleWebhook(webhook)).rejects.toMatchObject({ code: 'AFC_SETTLEMENT_RELEASE_FAILED' });
    expect((await h.cards.readState(holder.user_token, holder.card_token)).balance).toBeNull();
    expect(await h.cards.readHold(holder.user_token, request.jit_token)).toMatchObject({
      amount_minor: 2_000,
    });

    await deliver([fromAuthorizer(approved)]);
    const released = await drainOutbox(holder.user_token, () => settleWebhook(webhook));
    expect(released.map((e) => e.type)).toEqual(['authorization.timeout_released']);
    await deliver(released.map(fromAuthorizer));
    const wallet = { available_minor: 7_000, held_minor: 3_000 };
    expect(await h.app.personalStore.getWallet(holder.user_token)).toMatchObject(wallet);
    expect((await h.cards.readState(holder.user_token, holder.card_token)).balance).toEqual(wallet);
    expect(await h.app.personalStore.getTransaction(request.jit_token)).toMatchObject({ state: 'declined' });
  });

  it('releases the hold in Redis when Marqeta could not use our answer', async () => {
    const { card, request, approved } = await approvedOnFreshCard(1_700);
    await deliver([fromAuthorizer(approved)]);
    const declined = webhookOf({ ...approved, type: 'authorization.declined' }, nextToken('tx'));
    const gpa_order = declined.gpa_order as { funding: { gateway_log: { timed_out: boolean } } };
    gpa_order.funding.gateway_log.timed_out = false;
    const released = await drainOutbox(card.user_token, () =>
      h.handle('webhook.transactions', String(declined.token), {
        type: 'transactions',
        event: declined,
        received_at: new Date().toISOString(),
      }),
    );
    expect(released.map((e) => e.type)).toEqual(['authorization.timeout_released']);
    expect(await h.cards.readHold(card.user_token, request.jit_token)).toBeNull();
    await deliver(released.map(fromAuthorizer));
    expect(await row(request.jit_token)).toMatchObject({ state: 'declined', authorized_minor: 0 });
  });

  it('releases the hold in Redis once through RabbitMQ, and the row ends declined with the reason', async () => {
    const { card, request, approved } = await approvedOnFreshCard(4_200);
    expect(approved.type).toBe('authorization.approved');
    let settled = h.settled();
    await h.publish(approved);
    await h.waitSettled(settled + 1);
    // Marqeta's webhook: the gateway answered too late, Marqeta declined.
    const timeout = {
      ...approved,
      type: 'authorization.timeout_released' as const,
      memo: 'timeout' as const,
    };
    const webhook = webhookOf(timeout, nextToken('tx'));
    const released = await drainOutbox(card.user_token, async () => {
      settled = h.settled();
      await h.publishWebhook(webhook);
      await h.waitSettled(settled + 1);
    });
    expect(released.map((e) => e.type)).toEqual(['authorization.timeout_released']);
    expect(await h.cards.readHold(card.user_token, request.jit_token)).toBeNull();
    expect(await h.cards.readDecision(card.user_token, request.jit_token)).toMatchObject({
      outcome: 'decline',
      memo: 'timeout',
    });
    // The release's own event, relayed, gives the counters back durably.
    settled = h.settled();
    await h.publish(released[0] as OutboxEvent);
    await h.waitSettled(settled + 1);
    expect(await row(request.jit_token)).toMatchObject({
      state: 'declined',
      authorized_minor: 0,
      decline_reason: 'TRANSACTION_NOT_PERMITTED',
      memo: 'gateway_timed_out',
    });
    const durable = await h.app.postgres.sql`
      select amount_minor, count from spending_totals where card_id = ${card.card_id}`;
    expect(durable.map((t) => [t.amount_minor, t.count])).toEqual([
      [0, 0],
      [0, 0],
      [0, 0],
    ]);
    // Marqeta sends it again: nothing more is released or recorded.
    const again = await drainOutbox(card.user_token, async () => {
      settled = h.settled();
      await h.publishWebhook(webhook);
      await h.waitSettled(settled + 1);
    });
    expect(again).toEqual([]);
    expect(h.log_lines.filter((l) => l.includes('"outcome":"duplicate"')).length).toBeGreaterThanOrEqual(1);
  });
});
