import { exchange_names } from '@afc/amqp';
import { waitUntil } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessPlatform } from './platform.ts';
import { compareBooks, type Outcome, report, tally, waitForBooks } from './traffic.ts';

const p = new InProcessPlatform();

beforeAll(async () => {
  await p.boot();
});
afterAll(async () => p.close());

const approved = (o: Outcome) => o.approved;

// What the durable spending totals count, over every card of the drill (each purchase $1.00).
async function durableMonthTotal(): Promise<number> {
  const [row] = await p.sql<{ total: number }[]>`
    select coalesce(sum(amount_minor), 0)::int8 as total from spending_totals where window_kind = 'month'`;
  return Number(row?.total ?? 0);
}

// As the webhooks service publishes Marqeta's transaction webhook: events exchange.
async function deliverWebhook(transaction: Readonly<Record<string, unknown>>): Promise<void> {
  const payload = { type: 'transactions', event: transaction, received_at: new Date().toISOString() };
  await p.operator.publish(exchange_names.events, 'webhook.transactions', payload, {
    message_id: String(transaction.token),
    type: 'webhook.received',
    confirm_timeout_ms: 5_000,
  });
}

describe('drill: Redis loses its data', () => {
  it("approvals lost with Redis are booked and counted once, from Marqeta's webhooks", async () => {
    const before = p.traffic(p.cards);
    const lost = p.traffic(p.cards);
    try {
      before.start();
      await before.waitForMore(20, approved, '20 approvals before the cut');
      await before.stop();
      await waitForBooks(p.sql, before);
      // The broker away: these approvals' events wait in Redis' outbox.
      p.proxies.amqp.cut();
      await waitUntil(() => p.authorizer.amqp.state !== 'connected', {
        message: 'authorizer sees the broker gone',
      });
      lost.start();
      await lost.waitForMore(30, approved, '30 approvals whose events wait in the outbox');
      await lost.stop();
      // Redis comes back empty: holds, counters, decision records and the waiting events are gone.
      await p.loseRedisData();
      p.proxies.amqp.restore();
      await waitUntil(() => p.authorizer.amqp.state === 'connected', {
        timeout_ms: 20_000,
        message: 'authorizer reconnects',
      });
      // Marqeta's word on every approval, as its webhooks bring it.
      const approvals = [...before.outcomes, ...lost.outcomes].filter(approved);
      for (const outcome of approvals) await deliverWebhook(outcome.transaction);
      const expected_minor = approvals.length * 100;
      await waitUntil(async () => (await durableMonthTotal()) >= expected_minor, {
        timeout_ms: 20_000,
        message: 'the durable totals to count every approval',
      });
      const tokens = approvals.map((o) => o.jit_token);
      await waitUntil(async () => (await compareBooks(p.sql, tokens)).missing.length === 0, {
        timeout_ms: 20_000,
        message: 'the ledger to hold every approval',
      });
      // What is still on its way has had the time to land: an approval counted twice would show.
      const { relay } = p.authorizer.authorizer;
      await waitUntil(async () => (await relay.backlog()) === 0, { message: 'the outbox drained' });
      const books = await compareBooks(p.sql, tokens);
      const durable_minor = await durableMonthTotal();
      const redis_minor = await redisMonthTotal();
      report('redis-loss', {
        did: 'booked 20 approvals, cut RabbitMQ, 30 more, lost every Redis key, restored RabbitMQ, delivered the webhooks',
        lost_with_redis: tally(lost.outcomes),
        approvals_answered: books.approved_answered,
        ledger_rows: books.ledger_rows,
        missing: books.missing.length,
        doubled: books.doubled.length,
        durable_minor,
        redis_minor,
      });
      expect([before.errors, lost.errors]).toEqual([[], []]);
      expect(books).toMatchObject({ missing: [], extra: [], doubled: [] });
      expect(durable_minor).toBe(expected_minor);
      // The books held every earlier approval when Redis was lost, and nothing else was on its
      // way: Redis, loaded from them and given back the lost approvals, counts what they count.
      expect(redis_minor).toBe(durable_minor);
    } finally {
      await before.stop();
      await lost.stop();
    }
  });
});

// The month counters of every card of the drill in Redis, as the authorizer reads them.
async function redisMonthTotal(): Promise<number> {
  const { card_state } = p.authorizer.authorizer;
  const users = await p.sql<{ user_token: string; card_token: string }[]>`
    select u.user_token, c.card_token from cards c join users u on u.id = c.user_id`;
  let total = 0;
  for (const { user_token, card_token } of users) {
    const state = await card_state.readState(user_token, card_token);
    total += state.counters?.month.amount_minor ?? 0;
  }
  return total;
}
