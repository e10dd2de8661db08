import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { deleteTopology } from '@afc/amqp';
import { dayToIsoDate, windowStarts } from '@afc/domain';
import { localServiceUrls, uniqueTestId, waitUntil } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topologyOf } from '../src/commands/context.ts';
import { listParkedMessages, replayParkedMessages } from '../src/commands/parked.ts';
import { rebuildPersonal } from '../src/commands/rebuild-personal.ts';
import { rebuildRedis } from '../src/commands/rebuild-redis.ts';
import { reconcileCounters } from '../src/commands/reconcile.ts';
import { reconcileBalances } from '../src/commands/reconcile-balances.ts';
import {
  authorizationOf,
  type OpsHarness,
  seedActiveBusinessCard,
  seedActivePersonalCard,
  startOps,
} from './ops-harness.ts';
import { nextToken } from './seed.ts';

let h: OpsHarness;

beforeAll(async () => {
  h = await startOps();
}, 60_000);

afterAll(async () => {
  await h?.close();
}, 60_000);

const now_ms = Date.now();
const starts = windowStarts(now_ms);

async function setTotals(card_id: string, totals: Record<'day' | 'week' | 'month', [number, number]>) {
  for (const kind of ['day', 'week', 'month'] as const) {
    const [amount_minor, count] = totals[kind];
    await h.app.postgres.sql`
      insert into spending_totals (card_id, window_kind, window_start, currency_code, amount_minor, count)
      values (${card_id}, ${kind}, ${dayToIsoDate(starts[kind])}, 'USD', ${amount_minor}, ${count})
      on conflict (card_id, window_kind, window_start) do update set amount_minor = excluded.amount_minor, count = excluded.count`;
  }
}

async function setRedisCounters(
  card: { user_token: string; card_token: string },
  amount: number,
  count: number,
) {
  const key = h.cards.keys(card.user_token, card.card_token).cardCounters;
  await h.app.redis.del(key);
  await h.cards.writeCounters(card.user_token, card.card_token, {
    day: { start: starts.day, amount_minor: amount, count },
    week: { start: starts.week, amount_minor: amount, count },
    month: { start: starts.month, amount_minor: amount, count },
  });
}

async function redisCounters(card: { user_token: string; card_token: string }) {
  return (await h.cards.readState(card.user_token, card.card_token)).counters;
}

const queueBacklog = async () => {
  const b = await h.client.backlog('settlement');
  return b.ready + b.retrying + b.parked;
};
const deps = () => ({
  sql: h.app.postgres.sql,
  redis: h.app.redis,
  cards: h.cards,
  holds: h.holds,
  queue_backlog: queueBacklog,
});
const reconcile = (options: { dry_run?: boolean; force?: boolean } = {}) =>
  reconcileCounters(deps(), { dry_run: false, force: false, now_ms, batch: 2, ...options });

describe('pnpm reconcile', () => {
  it('reports, then repairs, Redis counters that differ from the durable totals; idempotent', async () => {
    const diverged = await seedActiveBusinessCard(h);
    await setTotals(diverged.card_id, { day: [5_000, 2], week: [5_000, 2], month: [9_000, 4] });
    await setRedisCounters(diverged, 7_000, 3);
    const agreeing = await seedActiveBusinessCard(h);
    await setTotals(agreeing.card_id, { day: [100, 1], week: [100, 1], month: [100, 1] });
    await setRedisCounters(agreeing, 100, 1);

    const dry = await reconcile({ dry_run: true });
    expect(dry.outcomes).toMatchObject({ would_repair: 1, repaired: 0 });
    expect(
      dry.changes.map((c) => [c.card_token, c.window, c.redis.amount_minor, c.durable.amount_minor]),
    ).toEqual([
      [diverged.card_token, 'day', 7_000, 5_000],
      [diverged.card_token, 'week', 7_000, 5_000],
      [diverged.card_token, 'month', 7_000, 9_000],
    ]);
    expect((await redisCounters(diverged))?.day.amount_minor).toBe(7_000);

    const run = await reconcile();
    expect(run.outcomes).toMatchObject({ repaired: 1, raced: 0, moving: 0 });
    expect(await redisCounters(diverged)).toEqual({
      day: { start: starts.day, amount_minor: 5_000, count: 2 },
      week: { start: starts.week, amount_minor: 5_000, count: 2 },
      month: { start: starts.month, amount_minor: 9_000, count: 4 },
    });
    const again = await reconcile();
    expect(again.changes).toEqual([]);
    expect(again.outcomes).toMatchObject({ repaired: 0, would_repair: 0 });
    expect(again.in_sync + again.not_loaded).toBe(again.cards_checked);
  });

  it('refuses to repair while the outbox holds events the books have not seen, unless forced', async () => {
    const card = await seedActiveBusinessCard(h);
    await setTotals(card.card_id, { day: [0, 0], week: [0, 0], month: [0, 0] });
    await setRedisCounters(card, 800, 1);
    const outbox = h.cards.keys(card.user_token, card.card_token).outbox;
    await h.app.redis.xadd(outbox, '*', 'event', '{}');
    try {
      const refused = await reconcile();
      expect(refused).toMatchObject({ refused: true, outbox_backlog: 1 });
      expect((await redisCounters(card))?.day.amount_minor).toBe(800);
      expect((await reconcile({ force: true })).outcomes.repaired).toBe(1);
      expect((await redisCounters(card))?.day.amount_minor).toBe(0);
    } finally {
      await h.app.redis.del(outbox);
    }
  });
});

const cli = (file: string) => fileURLToPath(new URL(`../src/commands/${file}`, import.meta.url));

describe('pnpm reconcile: personal balances', () => {
  it('repairs a Redis balance that differs from the wallet in the personal store, over what it read', async () => {
    const store = h.app.personalStore;
    const seedWallet = async (credited_minor: number) => {
      const user_token = nextToken('puser');
      await store.createUser({
        user_token,
        email: `${user_token}@example.com`,
        wallet_address: 'addr-1',
        currency: 'USD',
      });
      await store.creditDeposit({
        deposit_id: nextToken('dep'),
        user_token,
        crypto_currency: 'USDC',
        crypto_amount: String(credited_minor / 100),
        rate: '1',
        credited_minor,
        currency: 'USD',
      });
      return user_token;
    };
    const diverged = await seedWallet(10_000);
    await h.cards.writeBalance(diverged, { available_minor: 9_000, held_minor: 500 }, 0);
    const agreeing = await seedWallet(2_000);
    await h.cards.writeBalance(agreeing, { available_minor: 2_000, held_minor: 0 }, 1);
    const balances = (repair: boolean) =>
      reconcileBalances(
        {
          redis: h.app.redis,
          cards: h.cards,
          holds: h.holds,
          personal_store: store,
          key_prefix: h.env.REDIS_KEY_PREFIX ?? '',
        },
        { repair, page: 100 },
      );
    const dry = await balances(false);
    expect(dry.changes).toEqual([
      {
        user_token: diverged,
        redis: { available_minor: 9_000, held_minor: 500 },
        books: { available_minor: 10_000, held_minor: 0 },
        outcome: 'would_repair',
      },
    ]);
    expect((await balances(true)).outcomes).toMatchObject({ repaired: 1, raced: 0 });
    const key = h.cards.keys(diverged, 'any-card').userBalance;
    expect(await h.app.redis.hmget(key, 'available', 'held')).toEqual(['10000', '0']);
    const again = await balances(true);
    expect(again.changes).toEqual([]);
    expect(again.in_sync).toBeGreaterThanOrEqual(2);
  });
});

describe('the command line', () => {
  it('pnpm reconcile --dry-run prints its report and exits 0 on the service configuration', async () => {
    const run = promisify(execFile);
    // The command declares the settlement queue as the service does: in a namespace of its own.
    const namespace = uniqueTestId('rc');
    try {
      const { stdout } = await run(
        process.execPath,
        ['--conditions=@afc/source', cli('reconcile-cli.ts'), '--dry-run'],
        { env: { ...process.env, ...h.env, AMQP_NAMESPACE: namespace, LOG_LEVEL: 'error' }, timeout: 30_000 },
      );
      expect(stdout).toMatch(/\d+ cards checked: /);
      expect(stdout).toContain('0 events in the outbox, 0 in the settlement queue');
      expect(stdout).toMatch(/\d+ balances checked: /);
    } finally {
      await deleteTopology(localServiceUrls.amqp, { ...topologyOf(['settlement']), namespace });
    }
  }, 60_000);

  it('pnpm rebuild-redis prints what it wrote for both programs and exits 0', async () => {
    const run = promisify(execFile);
    const { stdout } = await run(
      process.execPath,
      ['--conditions=@afc/source', cli('rebuild-redis-cli.ts'), '--batch', '50'],
      { env: { ...process.env, ...h.env, LOG_LEVEL: 'error' }, timeout: 30_000 },
    );
    expect(stdout).toMatch(/\d+ business cards read from PostgreSQL\./);
    expect(stdout).toMatch(/\d+ personal cards read from the personal store \(postgres\)\./);
    expect(stdout).toMatch(/Open personal holds: \d+ in the ledger, \d+ restored, \d+ never held/);
  }, 60_000);

  it('a bad argument exits 2 with the usage', async () => {
    const run = promisify(execFile);
    const failed = run(process.execPath, ['--conditions=@afc/source', cli('parked-cli.ts'), '--max', '0'], {
      timeout: 30_000,
    });
    await expect(failed).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--max must be') });
  });
});

describe('pnpm rebuild-redis', () => {
  it('rebuilds cards, counters and open holds after Redis lost them; a second run writes nothing', async () => {
    const card = await seedActiveBusinessCard(h);
    await h.app.postgres.sql`
      insert into spending_controls (card_id, currency_code, daily_limit_minor) values (${card.card_id}, 'USD', 50000)`;
    await setTotals(card.card_id, { day: [3_000, 1], week: [3_000, 1], month: [3_000, 1] });
    const jit_token = nextToken('jit');
    await h.app.postgres.sql`
      insert into transactions (jit_token, card_id, user_id, company_id, method, state, currency_code,
        requested_minor, authorized_minor, reversed_minor, created_at, expires_at)
      select ${jit_token}, c.id, c.user_id, c.company_id, 'pgfs.authorization', 'pending', 'USD',
        3500, 3500, 500, ${new Date(now_ms)}, ${new Date(now_ms + 86_400_000)}
      from cards c where c.id = ${card.card_id}`;
    // Redis lost everything of this cardholder.
    const k = h.cards.keys(card.user_token, card.card_token);
    await h.app.redis.del(
      k.cardState,
      k.cardControls,
      k.cardholderState,
      k.cardCounters,
      k.holdKey(jit_token),
    );

    const first = await rebuildRedis(deps(), { batch: 2, now_ms });
    expect(first.written.card).toBeGreaterThanOrEqual(1);
    expect(first.holds.restored).toBeGreaterThanOrEqual(1);
    const state = await h.cards.readState(card.user_token, card.card_token);
    expect(state.card).toMatchObject({ card_token: card.card_token, state: 'active' });
    expect(state.controls).toMatchObject({ daily_limit_minor: 50_000 });
    expect(state.counters?.day).toEqual({ start: starts.day, amount_minor: 3_000, count: 1 });
    expect(await h.cards.readHold(card.user_token, jit_token)).toMatchObject({
      amount_minor: 3_000,
      authorized_minor: 3_500,
      released_minor: 500,
      on_expiry: 'release',
    });

    const second = await rebuildRedis(deps(), { batch: 2, now_ms });
    expect(second.written).toEqual({ card: 0, controls: 0, cardholder: 0, counters: 0 });
    expect(second.holds.restored).toBe(0);

    // The rebuilt state decides and the rebuilt hold is released exactly (counters back to 0).
    expect(await h.cards.decide(authorizationOf(card, 1_000, now_ms))).toMatchObject({ outcome: 'approve' });
    const reversal = {
      ...authorizationOf(card, 3_000, now_ms),
      kind: 'reversal' as const,
      method: 'pgfs.authorization.reversal',
      original_jit_token: jit_token,
    };
    expect(await h.cards.apply(reversal)).toMatchObject({ status: 'applied', note: 'released' });
    expect((await redisCounters(card))?.day).toMatchObject({ amount_minor: 1_000, count: 1 });
  });
});

describe('pnpm rebuild-redis: holds only Marqeta reported', () => {
  it('leaves out a business hold the authorizer never counted in the books', async () => {
    const card = await seedActiveBusinessCard(h, now_ms);
    const request = authorizationOf(card, 2_500, now_ms);
    const [approved] = await h.decideReportedByMarqeta(request);
    expect(approved).toMatchObject({ type: 'authorization.approved' });
    const [row] = await h.app.postgres.sql<{ state: string; authorized_minor: number }[]>`
      select state, authorized_minor from transactions where jit_token = ${request.jit_token}`;
    expect(row).toEqual({ state: 'pending', authorized_minor: 2_500 });
    // Redis lost the hold.
    await h.app.redis.del(h.cards.keys(card.user_token, card.card_token).holdKey(request.jit_token));
    const report = await rebuildRedis(deps(), { batch: 100, now_ms });
    expect(report.holds.not_held).toBeGreaterThanOrEqual(1);
    expect(await h.cards.readHold(card.user_token, request.jit_token)).toBeNull();
  });
});

describe('pnpm rebuild-redis: personal cards', () => {
  const personalDeps = () => ({
    sql: h.app.postgres.sql,
    cards: h.cards,
    holds: h.holds,
    personal_store: h.app.personalStore,
  });

  it('rebuilds a personal cardholder, wallet and open hold from the store; decisions and clearings continue', async () => {
    const card = await seedActivePersonalCard(h, 10_000, now_ms);
    const held = authorizationOf(card, 3_000, now_ms);
    await h.decideAndSettle(held);
    const before = await h.cards.readState(card.user_token, card.card_token);
    expect(before.balance).toEqual({ available_minor: 7_000, held_minor: 3_000 });
    const hold_before = await h.cards.readHold(card.user_token, held.jit_token);
    // Redis lost everything of this cardholder.
    const k = h.cards.keys(card.user_token, card.card_token);
    await h.app.redis.del(
      k.cardState,
      k.cardControls,
      k.cardholderState,
      k.cardCounters,
      k.userBalance,
      k.holdKey(held.jit_token),
    );
    expect((await h.cards.readState(card.user_token, card.card_token)).card).toBeNull();

    const first = await rebuildPersonal(personalDeps(), { batch: 2, now_ms });
    expect(first.cards).toBeGreaterThanOrEqual(1);
    expect(first.written).toMatchObject({ card: 1, controls: 1, cardholder: 1, counters: 1, balance: 1 });
    expect(first.holds).toMatchObject({ restored: 1, not_held: 0 });
    const after = await h.cards.readState(card.user_token, card.card_token);
    expect(after.card).toEqual(before.card);
    expect(after.cardholder).toEqual(before.cardholder);
    expect(after.balance).toEqual(before.balance);
    expect(await h.cards.readHold(card.user_token, held.jit_token)).toMatchObject({
      program: 'personal',
      amount_minor: 3_000,
      authorized_minor: 3_000,
      on_expiry: hold_before?.on_expiry,
    });

    const second = await rebuildPersonal(personalDeps(), { batch: 2, now_ms });
    expect(second.written).toEqual({ card: 0, controls: 0, cardholder: 0, counters: 0, balance: 0 });
    expect(second.holds.restored).toBe(0);

    // The same available balance decides: one minor unit more than it is declines.
    const [over] = await h.decideAndSettle(authorizationOf(card, 7_001, now_ms));
    expect(over).toMatchObject({ type: 'authorization.declined' });
    // The restored hold clears, in Redis and in the books, which agree (reconcile finds nothing).
    await h.applyAndSettle({
      ...authorizationOf(card, 3_000, now_ms),
      kind: 'clearing',
      method: 'pgfs.authorization.clearing',
      original_jit_token: held.jit_token,
    });
    expect(await h.cards.readHold(card.user_token, held.jit_token)).toMatchObject({
      amount_minor: 0,
      captured_minor: 3_000,
    });
    expect((await h.cards.readState(card.user_token, card.card_token)).balance).toEqual({
      available_minor: 7_000,
      held_minor: 0,
    });
    expect(await h.app.personalStore.getWallet(card.user_token)).toMatchObject({
      available_minor: 7_000,
      held_minor: 0,
    });
    const balances = await reconcileBalances(
      {
        redis: h.app.redis,
        cards: h.cards,
        holds: h.holds,
        personal_store: h.app.personalStore,
        key_prefix: h.env.REDIS_KEY_PREFIX ?? '',
      },
      { repair: false, page: 100 },
    );
    expect(balances.changes.filter((c) => c.user_token === card.user_token)).toEqual([]);
    expect(await h.cards.decide(authorizationOf(card, 7_000, now_ms))).toMatchObject({ outcome: 'approve' });
  });
});

describe('pnpm parked', () => {
  it('lists a parked message with its reason and attempts, and replays it by id', async () => {
    const message_id = nextToken('poison');
    await h.client.publish(
      'transactions',
      'authorization.approved',
      { event_id: message_id, not: 'an event' },
      {
        message_id,
        confirm_timeout_ms: 5_000,
      },
    );
    const parkedWith = async () => {
      const [listing] = await listParkedMessages(h.client, ['settlement'], 50);
      return listing?.messages.find((m) => m.message_id === message_id);
    };
    await waitUntil(async () => (await parkedWith()) !== undefined, {
      timeout_ms: 20_000,
      message: 'parked',
    });
    expect(await parkedWith()).toMatchObject({
      attempts: 3,
      park_reason: expect.stringContaining('AFC_SETTLEMENT_INVALID_EVENT'),
    });
    const failures = () =>
      h.log_lines.filter((l) => l.includes(message_id) && l.includes('amqp.consumer.failed')).length;
    expect(failures()).toBe(3);

    const outcome = await replayParkedMessages(
      h.client,
      { kind: 'ids', message_ids: [message_id, 'no-such-id'], queues: ['settlement'] },
      100,
    );
    expect(outcome).toEqual({ replayed: [{ queue: 'settlement', message_id }], not_found: ['no-such-id'] });
    // Handled again from a fresh start (three more attempts), then parked again.
    await waitUntil(async () => failures() === 6 && (await parkedWith()) !== undefined, {
      timeout_ms: 20_000,
      message: 'replayed and parked again',
    });
    // An event parked is an event the books lack: reconcile will not repair against them. The
    // listing above held the parked message unacked until its channel closed; the broker counts
    // it again once it has it back.
    await waitUntil(async () => (await h.client.backlog('settlement')).parked === 1, {
      timeout_ms: 10_000,
      message: 'the listed message back in the parked count',
    });
    expect(await h.client.backlog('settlement')).toMatchObject({ parked: 1 });
    expect(await reconcile()).toMatchObject({ refused: true, queue_backlog: 1 });
  });
});
