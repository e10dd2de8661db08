import type { OutboxEvent } from '@afc/card-state';
import { createLogger } from '@afc/log';
import { createPostgres } from '@afc/postgres';
import { waitUntil } from '@afc/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Card, HoldModel } from './events.ts';
import { type Harness, startSettlement } from './harness.ts';
import { emptyLedger, nextToken, seedBusinessCard, snapshot } from './seed.ts';

const silent = createLogger({ name: 'settlement-test', level: 'silent' });
let h: Harness;
let card: Card & { card_id: string };

beforeAll(async () => {
  h = await startSettlement();
  card = await seedBusinessCard(h.app.postgres.sql);
}, 60_000);

afterAll(async () => {
  await h?.close();
}, 60_000);

async function deliver(events: readonly (OutboxEvent | Record<string, unknown>)[]): Promise<void> {
  const before = h.settled();
  for (const event of events) await h.publish(event);
  await h.waitSettled(before + events.length);
}

async function row(jit_token: string) {
  const [found] = await h.app.postgres.sql`select * from transactions where jit_token = ${jit_token}`;
  return found;
}

async function history(jit_token: string) {
  return h.app.postgres.sql`
    select e.kind, e.amount_minor, e.state_before, e.state_after from transaction_events e
    join transactions t on t.id = e.transaction_id where t.jit_token = ${jit_token} order by e.id`;
}

async function totals() {
  return h.app.postgres.sql`
    select window_kind, amount_minor, count from spending_totals where card_id = ${card.card_id}
    order by window_kind`;
}

describe('settlement of authorizer events', () => {
  it('keeps one row per hold through authorization, incremental, reversal and clearings', async () => {
    await emptyLedger(h.app.postgres.sql);
    const hold = new HoldModel(card, nextToken('jit'));
    await deliver([hold.authorize(10_000)]);
    expect(await row(hold.jit_token)).toMatchObject({
      state: 'pending',
      requested_minor: 10_000,
      authorized_minor: 10_000,
      cleared_minor: 0,
      merchant_mcc: '5812',
      method: 'pgfs.authorization',
    });
    expect(await totals()).toEqual([
      { window_kind: 'day', amount_minor: 10_000, count: 1 },
      { window_kind: 'month', amount_minor: 10_000, count: 1 },
      { window_kind: 'week', amount_minor: 10_000, count: 1 },
    ]);
    // One at a time: the history below is in arrival order.
    for (const event of [hold.increment(2_500), hold.reverse(500), hold.clear(4_000)]) await deliver([event]);
    expect(await row(hold.jit_token)).toMatchObject({
      state: 'partially_cleared',
      requested_minor: 12_500,
      authorized_minor: 12_500,
      reversed_minor: 500,
      cleared_minor: 4_000,
    });
    await deliver([hold.clear(9_000)]);
    expect(await row(hold.jit_token)).toMatchObject({ state: 'cleared', cleared_minor: 13_000 });
    expect((await history(hold.jit_token)).map((e) => [e.kind, e.state_after])).toEqual([
      ['authorization.approved', 'pending'],
      ['authorization.incremental', 'pending'],
      ['authorization.reversed', 'pending'],
      ['transaction.cleared', 'partially_cleared'],
      ['transaction.cleared', 'cleared'],
    ]);
    // 12_500 held, 500 given back, 1_000 cleared beyond the hold counted as spend.
    expect((await totals()).map((t) => [t.amount_minor, t.count])).toEqual([
      [13_000, 1],
      [13_000, 1],
      [13_000, 1],
    ]);
  });

  it('marks a fully reversed hold reversed and gives its spend and count back', async () => {
    await emptyLedger(h.app.postgres.sql);
    const hold = new HoldModel(card, nextToken('jit'));
    await deliver([hold.authorize(3_000), hold.reverse(3_000)]);
    expect(await row(hold.jit_token)).toMatchObject({
      state: 'reversed',
      reversed_minor: 3_000,
      cleared_minor: 0,
    });
    expect((await totals()).map((t) => [t.amount_minor, t.count])).toEqual([
      [0, 0],
      [0, 0],
      [0, 0],
    ]);
  });

  it('records a declined authorization as a declined row of its own that counts nothing', async () => {
    await emptyLedger(h.app.postgres.sql);
    const hold = new HoldModel(card, nextToken('jit'));
    const jit = nextToken('declined');
    await deliver([hold.decline(jit, 90_000)]);
    expect(await row(jit)).toMatchObject({
      state: 'declined',
      requested_minor: 90_000,
      authorized_minor: 0,
      decline_reason: 'AMOUNT_LIMIT_EXCEEDED',
      memo: 'daily_amount_limit',
    });
    expect(await totals()).toEqual([]);
  });

  it('creates the row from a clearing that arrives before its authorization', async () => {
    await emptyLedger(h.app.postgres.sql);
    const hold = new HoldModel(card, nextToken('jit'));
    const approved = hold.authorize(5_000);
    const cleared = hold.clear(5_000);
    await deliver([cleared]);
    expect(await row(hold.jit_token)).toMatchObject({
      state: 'cleared',
      cleared_minor: 5_000,
      authorized_minor: 0,
    });
    await deliver([approved]);
    expect(await row(hold.jit_token)).toMatchObject({
      state: 'cleared',
      cleared_minor: 5_000,
      authorized_minor: 5_000,
    });
    expect((await totals()).map((t) => [t.amount_minor, t.count])).toEqual([
      [5_000, 1],
      [5_000, 1],
      [5_000, 1],
    ]);
  });

  it('applies a duplicate event no second time', async () => {
    await emptyLedger(h.app.postgres.sql);
    const hold = new HoldModel(card, nextToken('jit'));
    const events = [hold.authorize(7_000), hold.reverse(2_000)];
    await deliver(events);
    const once = await snapshot(h.app.postgres.sql);
    await deliver([...events, ...events]);
    expect(h.log_lines.filter((l) => l.includes('"outcome":"duplicate"')).length).toBeGreaterThanOrEqual(4);
    expect(await snapshot(h.app.postgres.sql)).toEqual(once);
  });

  it('gives the same rows, history and totals for any order and any duplicates (property)', async () => {
    const step = fc.oneof(
      fc.record({ op: fc.constant('increment' as const), amount: fc.integer({ min: 1, max: 5_000 }) }),
      fc.record({ op: fc.constant('reverse' as const), amount: fc.integer({ min: 1, max: 8_000 }) }),
      fc.record({ op: fc.constant('clear' as const), amount: fc.integer({ min: 1, max: 8_000 }) }),
    );
    const history_of = fc.record({
      first: fc.integer({ min: 1, max: 10_000 }),
      steps: fc.array(step, { maxLength: 5 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(history_of, { minLength: 1, maxLength: 3 }),
        fc.infiniteStream(fc.nat()),
        async (holds, random) => {
          const events: OutboxEvent[] = [];
          for (const spec of holds) {
            const hold = new HoldModel(card, nextToken('jit'));
            events.push(hold.authorize(spec.first));
            for (const s of spec.steps) events.push(hold[s.op](s.amount));
          }
          await emptyLedger(h.app.postgres.sql);
          for (const event of events) await deliver([event]);
          const in_order = await snapshot(h.app.postgres.sql);
          await emptyLedger(h.app.postgres.sql);
          const numbers = [...random.take(events.length * 2)];
          const copies = [...events, ...events.filter((_, i) => (numbers[i] ?? 0) % 3 === 0)];
          const keyed = copies.map((event, i) => ({ event, key: numbers[i % numbers.length] ?? 0, i }));
          keyed.sort((a, b) => a.key - b.key || a.i - b.i);
          await deliver(keyed.map((k) => k.event));
          expect(await snapshot(h.app.postgres.sql)).toEqual(in_order);
        },
      ),
      { numRuns: 12 },
    );
  }, 120_000);

  it('retries a failing event and parks it after 3 attempts', async () => {
    const poison = { event_id: nextToken('poison'), type: 'authorization.approved', amount_minor: 'ten' };
    await h.publish(poison);
    const attempts = () =>
      h.log_lines.filter((l) => l.includes(poison.event_id) && l.includes('AFC_SETTLEMENT_INVALID_EVENT'))
        .length;
    await waitUntil(
      async () => (await h.client.listParked('settlement', 10)).some((p) => p.message_id === poison.event_id),
      {
        timeout_ms: 20_000,
        message: 'poison parked',
      },
    );
    const parked = (await h.client.listParked('settlement', 10)).find(
      (p) => p.message_id === poison.event_id,
    );
    expect(parked?.attempts).toBe(3);
    expect(attempts()).toBeGreaterThanOrEqual(3);
  });

  it('finishes the in-flight event on shutdown', async () => {
    await emptyLedger(h.app.postgres.sql);
    const hold = new HoldModel(card, nextToken('jit'));
    await deliver([hold.authorize(1_000)]);
    const reversal = hold.reverse(1_000);
    // A connection of the test's own: the app's pool closes during the test.
    const admin = createPostgres({ url: h.config.DATABASE_URL, application_name: 'settlement-test' }, silent);
    const blocker = await admin.sql.reserve();
    try {
      // Holding the row's lock keeps the reversal's transaction waiting: it is in flight.
      await blocker`begin`;
      await blocker`select 1 from transactions where jit_token = ${hold.jit_token} for update`;
      await h.publish(reversal);
      await waitUntil(
        async () => {
          const [waiting] = await blocker`
            select count(*)::int as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock'`;
          return (waiting?.n ?? 0) > 0;
        },
        { message: 'reversal waiting on the row lock' },
      );
      const closing = h.app.close();
      await waitUntil(() => h.log_lines.some((line) => line.includes('"amqp.close.intake_stopped"')), {
        message: 'intake stopped',
      });
      await blocker`commit`;
      await closing;
      const [found] = await admin.sql`select state from transactions where jit_token = ${hold.jit_token}`;
      expect(found?.state).toBe('reversed');
    } finally {
      blocker.release();
      await admin.close(5_000);
    }
  });
});
