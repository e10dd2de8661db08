import { queue_names } from '@afc/amqp';
import { replayParkedMessages } from '@afc/settlement';
import { waitUntil } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessPlatform } from './platform.ts';
import { compareBooks, report, tally, waitForBooks } from './traffic.ts';

const p = new InProcessPlatform();

beforeAll(async () => {
  await p.boot();
});
afterAll(async () => p.close());

// Settlement's own log: each failed attempt, and each delivery it settled.
const count = (lines: readonly string[], needle: string) =>
  lines.filter((line) => line.includes(needle)).length;

async function parkedCount(): Promise<number> {
  return (await p.operator.listParked(queue_names.settlement, 1_000, 5_000)).length;
}

describe('drill: PostgreSQL cut (settlement ↔ PostgreSQL)', () => {
  it('settlement retries, parks what outlasts its retries; after restore and replay the books match', async () => {
    const settlement_logs = p.settlement_logs.lines;
    // A lighter stream than the other drills: during the cut every event costs its attempts a
    // wait on the dead connection, and the drill must see some park within seconds.
    const traffic = p.traffic(p.cards, { concurrency: 1, pause_ms: 50 });
    traffic.start();
    try {
      await traffic.waitForMore(20, (o) => o.approved, '20 approvals before the cut');
      p.proxies.postgres.cut();
      // Retries are 200 and 400 ms apart (the drill's topology): a message failing all three
      // attempts inside the cut is parked. Wait until several are.
      await waitUntil(async () => (await parkedCount()) >= 5, {
        timeout_ms: 20_000,
        message: '5 events parked',
      });
      const failed_attempts = count(settlement_logs, '"amqp.consumer.failed"');
      p.proxies.postgres.restore();
      await traffic.waitForMore(20, (o) => o.approved, '20 approvals after the restore');
      await traffic.stop();
      // The pool reconnects by itself; what did not outlast its retries settles on its own.
      await waitUntil(async () => p.settlement !== undefined && (await p.ready(p.settlement)) === 200, {
        message: 'settlement ready again',
      });
      // The operator replays what is parked (what `pnpm parked replay --all settlement` does)
      // until nothing is: an event still between retries when the cut ended may park later.
      let replayed = 0;
      await waitUntil(
        async () => {
          if ((await parkedCount()) === 0)
            return (await compareBooks(p.sql, traffic.approvals())).missing.length === 0;
          const replay = await replayParkedMessages(
            p.operator,
            { kind: 'all', queue: queue_names.settlement },
            1_000,
          );
          replayed += replay.replayed.length;
          return false;
        },
        { timeout_ms: 20_000, interval_ms: 200, message: 'nothing parked and the books complete' },
      );
      const books = await waitForBooks(p.sql, traffic);
      report('postgres-cut', {
        did: 'cut settlement from PostgreSQL during the stream, restored it, replayed the parked events',
        outcomes: tally(traffic.outcomes),
        failed_attempts_during_cut: failed_attempts,
        parked_then_replayed: replayed,
        approvals_answered: books.approved_answered,
        ledger_rows: books.ledger_rows,
        missing: books.missing.length,
        extra: books.extra.length,
        not_exactly_once: books.doubled.length,
      });
      expect(traffic.errors).toEqual([]);
      // The authorizer decides from Redis: a settlement outage costs no approval.
      expect(traffic.outcomes.every((o) => o.approved)).toBe(true);
      // Retried before parking: three attempts per parked event at least.
      expect(failed_attempts).toBeGreaterThanOrEqual(3 * 5);
      expect(replayed).toBeGreaterThanOrEqual(5);
      expect(await parkedCount()).toBe(0);
      expect(books).toMatchObject({ missing: [], extra: [], doubled: [] });
    } finally {
      await traffic.stop();
    }
  });
});
