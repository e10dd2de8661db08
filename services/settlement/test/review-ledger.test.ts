import type { OutboxEvent } from '@afc/card-state';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Card, HoldModel, webhookOf } from './events.ts';
import { type Harness, startSettlement } from './harness.ts';
import {
  emptyLedger,
  emptyPersonalLedger,
  nextToken,
  personalSnapshot,
  seedBusinessCard,
  seedPersonalCard,
  snapshot,
} from './seed.ts';

// Cases found in review of the ledger: each was a way for the books to go wrong.
let h: Harness;
let card: Card & { card_id: string };

beforeAll(async () => {
  h = await startSettlement();
  card = await seedBusinessCard(h.app.postgres.sql);
}, 60_000);

afterAll(async () => {
  await h?.close();
}, 60_000);

async function row(jit_token: string) {
  const [found] = await h.app.postgres.sql`select * from transactions where jit_token = ${jit_token}`;
  return found;
}

function fromAuthorizer(event: OutboxEvent) {
  return h.handle(event.type, event.event_id, event);
}

function fromMarqeta(webhook: Record<string, unknown>) {
  const payload = { type: 'transactions', event: webhook, received_at: new Date().toISOString() };
  return h.handle('webhook.transactions', String(webhook.token), payload);
}

const funded_minor = 1_000_000;

async function emptyBooks() {
  await emptyLedger(h.app.postgres.sql);
  await emptyPersonalLedger(h.app.postgres.sql, funded_minor);
}

async function books() {
  return {
    business: await snapshot(h.app.postgres.sql),
    personal: await personalSnapshot(h.app.postgres.sql),
  };
}

async function totals() {
  const rows = await h.app.postgres.sql`
    select amount_minor, count from spending_totals where card_id = ${card.card_id} order by window_kind`;
  return rows.map((t) => [t.amount_minor, t.count]);
}

describe('ledger review', () => {
  it('records an approval whose JIT request carried no merchant category or country', async () => {
    await emptyLedger(h.app.postgres.sql);
    const hold = new HoldModel(card, nextToken('jit'));
    // The authorizer writes '' for a card acceptor Marqeta left out (mcc and country are optional).
    const approved = { ...hold.authorize(3_000), merchant: { mcc: '', mid: '', country: '' } };
    expect(await fromAuthorizer(approved)).toBe('applied');
    expect(await row(hold.jit_token)).toMatchObject({
      state: 'pending',
      authorized_minor: 3_000,
      merchant_mcc: null,
      merchant_country: null,
    });
    expect(await totals()).toEqual([
      [3_000, 1],
      [3_000, 1],
      [3_000, 1],
    ]);
  });

  it('takes nothing off the authorization for a timed-out incremental the gateway never approved', async () => {
    await emptyLedger(h.app.postgres.sql);
    const hold = new HoldModel(card, nextToken('jit'));
    expect(await fromAuthorizer(hold.authorize(5_000))).toBe('applied');
    // Marqeta timed out on an incremental of 2_000: the gateway declined it late (its decline is
    // a row of its own), or never decided it. Nothing of it was ever held.
    const inc_jit = `${hold.jit_token}-inc`;
    const incremental = {
      ...hold.decline(inc_jit, 2_000),
      type: 'authorization.timeout_released' as const,
      kind: 'incremental' as const,
      method: 'pgfs.authorization.incremental',
      original_jit_token: hold.jit_token,
      memo: 'timeout' as const,
    };
    expect(await fromMarqeta(webhookOf(incremental, nextToken('tx')))).toBe('applied');
    expect(await fromAuthorizer(hold.decline(inc_jit, 2_000))).toBe('applied');
    expect(await row(hold.jit_token)).toMatchObject({
      state: 'pending',
      requested_minor: 5_000,
      authorized_minor: 5_000,
    });
    // An incremental the gateway did approve is still undone by Marqeta's word alone.
    const approved_inc = hold.increment(1_000);
    expect(await fromAuthorizer(approved_inc)).toBe('applied');
    const timed_out = {
      ...approved_inc,
      type: 'authorization.timeout_released' as const,
      memo: 'timeout' as const,
    };
    expect(await fromMarqeta(webhookOf(timed_out, nextToken('tx')))).toBe('applied');
    expect(await row(hold.jit_token)).toMatchObject({ state: 'pending', authorized_minor: 5_000 });
  });

  it('counts nothing for a clearing, reversal or refund that Marqeta declined', async () => {
    await emptyLedger(h.app.postgres.sql);
    const hold = new HoldModel(card, nextToken('jit'));
    expect(await fromAuthorizer(hold.authorize(4_000))).toBe('applied');
    for (const [event, state] of [
      [hold.clear(1_500), 'DECLINED'],
      [hold.reverse(1_000), 'ERROR'],
      [hold.refund(700), 'DECLINED'],
    ] as const) {
      const webhook = { ...webhookOf(event, nextToken('tx')), state };
      expect(await fromMarqeta(webhook)).toBe('ignored');
    }
    expect(await row(hold.jit_token)).toMatchObject({
      state: 'pending',
      authorized_minor: 4_000,
      cleared_minor: 0,
      reversed_minor: 0,
      refunded_minor: 0,
    });
  });

  it('ends the same when two consumers settle events of one hold at the same time', async () => {
    const holder = await seedPersonalCard(h.app.personalStore, funded_minor);
    const events: OutboxEvent[] = [];
    for (const hold of [
      new HoldModel(card, nextToken('jit')),
      new HoldModel(holder, nextToken('pjit'), Date.UTC(2024, 9, 4, 12), 'personal'),
    ]) {
      events.push(hold.authorize(9_000), hold.increment(1_000), hold.reverse(2_000), hold.clear(3_000));
      events.push(hold.clear(1_000), hold.refund(500));
    }
    await emptyBooks();
    for (const event of events) await fromAuthorizer(event);
    const in_order = await books();
    await emptyBooks();
    // Every event twice, all at once: the row lock serialises them, each copy lands once.
    const settled = await Promise.allSettled([...events, ...events].map((event) => fromAuthorizer(event)));
    // A copy that lost the race to its twin fails (AFC_SETTLEMENT_CONCURRENT_COPY): the queue retries it.
    for (const [i, result] of settled.entries()) {
      if (result.status === 'rejected') await fromAuthorizer(events[i % events.length] as OutboxEvent);
    }
    expect(await books()).toEqual(in_order);
  });
});
