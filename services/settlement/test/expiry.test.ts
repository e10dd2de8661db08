import { waitUntil } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepExpiredHolds } from '../src/expiry/sweep.ts';
import { startExpirySweeper } from '../src/expiry/sweeper.ts';
import { recordLedgerInput } from '../src/handle-event.ts';
import { expiryInput } from '../src/ledger-input.ts';
import {
  authorizationOf,
  type OpsHarness,
  seedActiveBusinessCard,
  seedActivePersonalCard,
  startOps,
} from './ops-harness.ts';

const day_ms = 86_400_000;
let h: OpsHarness;

beforeAll(async () => {
  h = await startOps();
}, 60_000);

afterAll(async () => {
  await h?.close();
}, 60_000);

const sweep = (batch = 50) =>
  sweepExpiredHolds(
    {
      postgres: h.app.postgres,
      personal_store: h.app.personalStore,
      hold_expiry_ms: 7 * day_ms,
      holds: h.holds,
      logger: h.logger,
    },
    { batch, now_ms: Date.now() },
  );

async function ledgerRow(jit_token: string) {
  const [row] = await h.app.postgres.sql`
    select state, authorized_minor, cleared_minor, reversed_minor from transactions where jit_token = ${jit_token}`;
  return row;
}

async function totals(card_id: string) {
  return h.app.postgres.sql`
    select window_kind, amount_minor, count from spending_totals where card_id = ${card_id} order by window_kind`;
}

const verifying = {
  kind: 'account_verification',
  method: 'pgfs.authorization.account_verification',
} as const;

function clearingOf(
  card: { card_token: string; user_token: string },
  original_jit_token: string,
  amount_minor: number,
  now_ms: number,
) {
  return {
    ...authorizationOf(card, amount_minor, now_ms),
    kind: 'clearing' as const,
    method: 'pgfs.authorization.clearing',
    original_jit_token,
  };
}

// Redis lost the hold (a rebuild that has not run yet): the expiry finds nothing to release.
async function loseHold(card: { card_token: string; user_token: string }, jit_token: string) {
  const key = h.cards.keys(card.user_token, card.card_token).holdKey(jit_token);
  expect(await h.app.redis.del(key)).toBe(1);
}

describe('hold expiry sweep', () => {
  it('releases a hold past expiry in Redis and the books, once; a hold not yet due stays', async () => {
    const authorized_at_ms = Date.now() - 8 * day_ms;
    const card = await seedActiveBusinessCard(h, authorized_at_ms);
    const old = authorizationOf(card, 4_000, authorized_at_ms);
    await h.decideAndSettle(old);
    const recent = authorizationOf(card, 700, authorized_at_ms, { now_ms: Date.now() - 6 * day_ms });
    await h.decideAndSettle(recent);
    expect(await ledgerRow(old.jit_token)).toMatchObject({ state: 'pending', authorized_minor: 4_000 });

    const report = await sweep();
    expect(report).toMatchObject({ due: 1, expired: 1, failed: 0, released_minor: 4_000, hold_not_found: 0 });
    expect(await ledgerRow(old.jit_token)).toMatchObject({
      state: 'expired',
      reversed_minor: 4_000,
      cleared_minor: 0,
    });
    expect(await ledgerRow(recent.jit_token)).toMatchObject({ state: 'pending' });
    expect(await h.cards.readHold(card.user_token, old.jit_token)).toMatchObject({
      amount_minor: 0,
      released_minor: 4_000,
    });
    // The 6-day-old hold (700, counted in its own day) is all that stays counted, in both places.
    const redis_counters = (await h.cards.readState(card.user_token, card.card_token)).counters;
    expect(redis_counters?.month).toMatchObject({ amount_minor: 700, count: 1 });
    const month = (await totals(card.card_id)).filter((t) => t.window_kind === 'month');
    expect(month.reduce((sum, t) => sum + Number(t.amount_minor), 0)).toBe(700);

    expect(await sweep()).toMatchObject({ due: 0, expired: 0 });
    const [history] = await h.app.postgres.sql`
      select count(*)::int as n from transaction_events where kind = 'hold.expired'`;
    expect(history?.n).toBe(1);
  });

  it('records what Redis did when a sweep died between the script and its commit', async () => {
    const authorized_at_ms = Date.now() - 10 * day_ms;
    const card = await seedActiveBusinessCard(h, authorized_at_ms);
    const request = authorizationOf(card, 2_500, authorized_at_ms);
    await h.decideAndSettle(request);
    // The first sweep's script ran; its PostgreSQL transaction never committed.
    const first = await h.holds.expireHold(card.user_token, card.card_token, request.jit_token);
    expect(first.movement.released_minor).toBe(2_500);
    expect(await sweep()).toMatchObject({ expired: 1, released_minor: 2_500 });
    expect(await ledgerRow(request.jit_token)).toMatchObject({ state: 'expired', reversed_minor: 2_500 });
    for (const total of await totals(card.card_id))
      expect(total).toMatchObject({ amount_minor: 0, count: 0 });
  });

  it('captures a single-message hold on expiry', async () => {
    const authorized_at_ms = Date.now() - 9 * day_ms;
    const card = await seedActiveBusinessCard(h, authorized_at_ms);
    const request = authorizationOf(card, 1_200, authorized_at_ms, { single_message: true });
    await h.decideAndSettle(request);
    expect(await sweep()).toMatchObject({ expired: 1, captured_minor: 1_200, released_minor: 0 });
    expect(await ledgerRow(request.jit_token)).toMatchObject({ cleared_minor: 1_200, reversed_minor: 0 });
    // Captured spend stays counted.
    expect((await totals(card.card_id)).map((t) => Number(t.amount_minor))).toEqual([1_200, 1_200, 1_200]);
  });

  it('two sweeps at once (two settlement processes) expire each hold exactly once', async () => {
    const authorized_at_ms = Date.now() - 8 * day_ms;
    const card = await seedActiveBusinessCard(h, authorized_at_ms);
    const requests = Array.from({ length: 6 }, (_, i) =>
      authorizationOf(card, 100 * (i + 1), authorized_at_ms),
    );
    for (const request of requests) await h.decideAndSettle(request);
    // Another process mid-pass holds the sweep's lock: this pass does nothing.
    const other = await h.app.postgres.sql.reserve();
    try {
      await other`select pg_advisory_lock(${0x5e771e01})`;
      expect(await sweep()).toMatchObject({ busy: true, due: 0, expired: 0 });
      await other`select pg_advisory_unlock(${0x5e771e01})`;
    } finally {
      other.release();
    }
    const [a, b] = await Promise.all([sweep(), sweep()]);
    expect((a?.expired ?? 0) + (b?.expired ?? 0)).toBe(6);
    expect((a?.released_minor ?? 0) + (b?.released_minor ?? 0)).toBe(2_100);
    for (const request of requests)
      expect(await ledgerRow(request.jit_token)).toMatchObject({ state: 'expired' });
    for (const total of await totals(card.card_id))
      expect(total).toMatchObject({ amount_minor: 0, count: 0 });
    const counters = (await h.cards.readState(card.user_token, card.card_token)).counters;
    expect(counters?.day).toMatchObject({ amount_minor: 0, count: 0 });
  });

  it('the periodic sweeper ends holds as they fall due and stops cleanly', async () => {
    const authorized_at_ms = Date.now() - 8 * day_ms;
    const card = await seedActiveBusinessCard(h, authorized_at_ms);
    const request = authorizationOf(card, 900, authorized_at_ms);
    await h.decideAndSettle(request);
    const reports: number[] = [];
    const sweeper = startExpirySweeper(
      {
        postgres: h.app.postgres,
        personal_store: h.app.personalStore,
        hold_expiry_ms: 7 * day_ms,
        holds: h.holds,
        logger: h.logger,
      },
      { interval_ms: 50, batch: 10, on_report: (report) => reports.push(report.expired) },
    );
    try {
      await waitUntil(async () => (await ledgerRow(request.jit_token))?.state === 'expired', {
        timeout_ms: 10_000,
        message: 'expired by the sweeper',
      });
    } finally {
      await sweeper.stop(5_000);
    }
    expect(reports.reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('ends an approved zero-amount verification expired, and the next pass no longer lists it', async () => {
    const authorized_at_ms = Date.now() - 8 * day_ms;
    const card = await seedActiveBusinessCard(h, authorized_at_ms);
    const verification = authorizationOf(card, 0, authorized_at_ms, verifying);
    await h.decideAndSettle(verification);
    expect(await ledgerRow(verification.jit_token)).toMatchObject({ state: 'pending', authorized_minor: 0 });

    expect(await sweep()).toMatchObject({ due: 1, expired: 1, failed: 0, hold_not_found: 1 });
    expect(await ledgerRow(verification.jit_token)).toMatchObject({ state: 'expired', authorized_minor: 0 });
    expect(await sweep()).toMatchObject({ due: 0, expired: 0, skipped: 0 });
  });

  it('ends a partly cleared hold whose Redis hold was lost expired, and the next pass no longer lists it', async () => {
    const authorized_at_ms = Date.now() - 8 * day_ms;
    const card = await seedActiveBusinessCard(h, authorized_at_ms);
    const request = authorizationOf(card, 3_000, authorized_at_ms);
    await h.decideAndSettle(request);
    await h.applyAndSettle(clearingOf(card, request.jit_token, 1_000, authorized_at_ms + 1_000));
    await loseHold(card, request.jit_token);
    expect(await ledgerRow(request.jit_token)).toMatchObject({ state: 'partially_cleared' });

    expect(await sweep()).toMatchObject({ due: 1, expired: 1, released_minor: 0, hold_not_found: 1 });
    expect(await ledgerRow(request.jit_token)).toMatchObject({
      state: 'expired',
      authorized_minor: 3_000,
      cleared_minor: 1_000,
      reversed_minor: 0,
    });
    expect(await sweep()).toMatchObject({ due: 0, expired: 0, skipped: 0 });
  });

  it('finds due holds through an index, not a scan of the ledger', async () => {
    const plan = await h.app.postgres.sql.begin(async (tx) => {
      await tx`set local enable_seqscan = off`;
      return tx.unsafe(`explain select id from transactions
        where state in ('pending', 'partially_cleared') and expires_at <= now() order by expires_at limit 100`);
    });
    expect(JSON.stringify(plan)).toContain('transactions_open_expiry_idx');
  });
});

describe('personal hold expiry', () => {
  const store = () => h.app.personalStore;
  const redisBalance = async (card: { user_token: string; card_token: string }) =>
    (await h.cards.readState(card.user_token, card.card_token)).balance;
  const expiredEvents = async (jit_token: string) =>
    (await store().getTransaction(jit_token))?.history.filter((e) => e.kind === 'hold.expired').length;

  it('releases a pending and a partially cleared hold: Redis and the wallet get them back, once', async () => {
    const authorized_at_ms = Date.now() - 8 * day_ms;
    const card = await seedActivePersonalCard(h, 10_000, authorized_at_ms);
    const pending = authorizationOf(card, 4_000, authorized_at_ms);
    await h.decideAndSettle(pending);
    const partial = authorizationOf(card, 3_000, authorized_at_ms + 1_000);
    await h.decideAndSettle(partial);
    await h.applyAndSettle({
      ...authorizationOf(card, 1_000, authorized_at_ms + 2_000),
      kind: 'clearing',
      method: 'pgfs.authorization.clearing',
      original_jit_token: partial.jit_token,
    });
    const recent = authorizationOf(card, 500, Date.now() - day_ms);
    await h.decideAndSettle(recent);
    expect(await store().getTransaction(partial.jit_token)).toMatchObject({ state: 'partially_cleared' });
    expect(await store().getWallet(card.user_token)).toMatchObject({
      available_minor: 2_500,
      held_minor: 6_500,
    });
    expect(await redisBalance(card)).toEqual({ available_minor: 2_500, held_minor: 6_500 });

    const report = await sweep();
    expect(report).toMatchObject({ due: 2, expired: 2, failed: 0, released_minor: 6_000, hold_not_found: 0 });
    expect(await store().getTransaction(pending.jit_token)).toMatchObject({
      state: 'expired',
      reversed_minor: 4_000,
    });
    // A partly cleared hold that expires keeps its clearing; the rest is given back.
    expect(await store().getTransaction(partial.jit_token)).toMatchObject({
      cleared_minor: 1_000,
      reversed_minor: 2_000,
    });
    expect(await store().getTransaction(recent.jit_token)).toMatchObject({ state: 'pending' });
    const wallet = await store().getWallet(card.user_token);
    expect(wallet).toMatchObject({ available_minor: 8_500, held_minor: 500 });
    expect(await redisBalance(card)).toEqual({ available_minor: 8_500, held_minor: 500 });
    expect(await h.cards.readHold(card.user_token, pending.jit_token)).toMatchObject({ amount_minor: 0 });

    // A second sweep, and the same expiry recorded again, change nothing.
    expect(await sweep()).toMatchObject({ due: 0, expired: 0 });
    const again = await h.holds.expireHold(card.user_token, card.card_token, pending.jit_token);
    expect(again.first).toBe(false);
    const repeat = expiryInput({
      jit_token: pending.jit_token,
      program: 'personal',
      card_token: card.card_token,
      user_token: card.user_token,
      currency: 'USD',
      expired_at_ms: authorized_at_ms + 7 * day_ms,
      movement: again.movement,
    });
    const deps = { postgres: h.app.postgres, personal_store: store(), hold_expiry_ms: 7 * day_ms };
    expect(await recordLedgerInput(deps, repeat)).toBe('duplicate');
    expect(await store().getWallet(card.user_token)).toEqual(wallet);
    expect(await redisBalance(card)).toEqual({ available_minor: 8_500, held_minor: 500 });
    expect(await expiredEvents(pending.jit_token)).toBe(1);
    expect(await expiredEvents(partial.jit_token)).toBe(1);
    // The released balance spends again.
    const spend = authorizationOf(card, 8_500, Date.now());
    expect(await h.cards.decide(spend)).toMatchObject({ outcome: 'approve' });
  });

  it('ends a personal zero-amount verification and a partly cleared hold without a Redis hold expired', async () => {
    const authorized_at_ms = Date.now() - 8 * day_ms;
    const card = await seedActivePersonalCard(h, 10_000, authorized_at_ms);
    const verification = authorizationOf(card, 0, authorized_at_ms, verifying);
    await h.decideAndSettle(verification);
    const partial = authorizationOf(card, 3_000, authorized_at_ms + 1_000);
    await h.decideAndSettle(partial);
    await h.applyAndSettle(clearingOf(card, partial.jit_token, 1_000, authorized_at_ms + 2_000));
    await loseHold(card, partial.jit_token);
    expect(await store().getTransaction(verification.jit_token)).toMatchObject({ state: 'pending' });
    expect(await store().getTransaction(partial.jit_token)).toMatchObject({ state: 'partially_cleared' });

    expect(await sweep()).toMatchObject({ due: 2, expired: 2, failed: 0, hold_not_found: 2 });
    expect(await store().getTransaction(verification.jit_token)).toMatchObject({ state: 'expired' });
    expect(await store().getTransaction(partial.jit_token)).toMatchObject({
      state: 'expired',
      cleared_minor: 1_000,
      reversed_minor: 0,
    });
    expect(await sweep()).toMatchObject({ due: 0, expired: 0, skipped: 0 });
  });

  it('two sweeps at once expire each personal hold once, the wallet moved once', async () => {
    const authorized_at_ms = Date.now() - 9 * day_ms;
    const card = await seedActivePersonalCard(h, 5_000, authorized_at_ms);
    const requests = Array.from({ length: 4 }, (_, i) =>
      authorizationOf(card, 100 * (i + 1), authorized_at_ms + i),
    );
    for (const request of requests) await h.decideAndSettle(request);
    const [a, b] = await Promise.all([sweep(), sweep()]);
    expect((a?.expired ?? 0) + (b?.expired ?? 0)).toBe(4);
    expect((a?.released_minor ?? 0) + (b?.released_minor ?? 0)).toBe(1_000);
    for (const request of requests) expect(await expiredEvents(request.jit_token)).toBe(1);
    expect(await store().getWallet(card.user_token)).toMatchObject({ available_minor: 5_000, held_minor: 0 });
    expect(await redisBalance(card)).toEqual({ available_minor: 5_000, held_minor: 0 });
  });
});
