import { waitUntil } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessPlatform } from './platform.ts';
import { report, tally, waitForBooks } from './traffic.ts';

const p = new InProcessPlatform();

beforeAll(async () => {
  // The platform's deadline (1.5 s) is well above a command's timeout (0.5 s): a lost Redis
  // shows as the error it is (system_error), never as a timeout.
  await p.boot();
});
afterAll(async () => p.close());

const system_error = (o: { approved: boolean; memo: string | undefined }) =>
  !o.approved && o.memo === 'system_error';

describe('drill: Redis cut', () => {
  it('declines with system_error within the deadline, turns unready, and recovers by itself', async () => {
    const traffic = p.traffic(p.cards);
    traffic.start();
    try {
      await traffic.waitForMore(20, (o) => o.approved, '20 approvals before the cut');
      p.proxies.redis.cut();
      const cut_at = traffic.outcomes.length;
      await traffic.waitForMore(30, system_error, '30 system_error declines during the cut');
      await waitUntil(async () => (await p.ready(p.authorizer)) === 503, { message: '/ready turns 503' });
      const during = traffic.outcomes.slice(cut_at);
      p.proxies.redis.restore();
      const restored_at = traffic.outcomes.length;
      // Nobody restarts anything: the clients reconnect and the authorizer serves again.
      await waitUntil(async () => (await p.ready(p.authorizer)) === 200, {
        timeout_ms: 20_000,
        message: '/ready back to 200',
      });
      await traffic.waitForMore(20, (o) => o.approved, '20 approvals after the restore');
      await traffic.stop();
      const after = traffic.outcomes.slice(restored_at);
      const books = await waitForBooks(p.sql, traffic);
      report('redis-cut', {
        did: 'cut the authorizer from Redis during the stream, then restored it',
        during_cut: tally(during),
        after_restore: tally(after),
        approvals_answered: books.approved_answered,
        ledger_rows: books.ledger_rows,
        missing: books.missing.length,
        extra: books.extra.length,
        not_exactly_once: books.doubled.length,
      });
      expect(traffic.errors).toEqual([]);
      // Past the first decision already on its way when the cut came, every answer during the
      // cut is our decline with system_error: never a timeout at Marqeta, never a 5xx.
      const answered = during.slice(2);
      expect(answered.filter((o) => !system_error(o))).toEqual([]);
      expect(answered.every((o) => o.decline_reason === 'TRANSACTION_NOT_PERMITTED')).toBe(true);
      expect(books).toMatchObject({ missing: [], extra: [], doubled: [] });
    } finally {
      await traffic.stop();
    }
  });
});
