import { waitUntil } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessPlatform } from './platform.ts';
import { compareBooks, report, tally, waitForBooks } from './traffic.ts';

const p = new InProcessPlatform();

beforeAll(async () => {
  await p.boot();
});
afterAll(async () => p.close());

describe('drill: RabbitMQ cut', () => {
  it('authorizations go on through the cut; after restore every approval is in the ledger exactly once', async () => {
    const traffic = p.traffic(p.cards);
    traffic.start();
    try {
      await traffic.waitForMore(20, (o) => o.approved, '20 approvals before the cut');
      p.proxies.amqp.cut();
      const cut_at = traffic.outcomes.length;
      // The cut is real for both services: the authorizer notices and keeps deciding.
      await waitUntil(() => p.authorizer.amqp.state !== 'connected', {
        message: 'authorizer sees the broker gone',
      });
      // About three seconds of the stream while the broker is away.
      await traffic.waitForMore(150, (o) => o.approved, '150 approvals during the cut');
      const during = traffic.outcomes.slice(cut_at);
      const unbooked_at_restore = (await compareBooks(p.sql, traffic.approvals())).missing.length;
      p.proxies.amqp.restore();
      await waitUntil(() => p.authorizer.amqp.state === 'connected', {
        timeout_ms: 20_000,
        message: 'authorizer reconnects',
      });
      await traffic.waitForMore(20, (o) => o.approved, '20 approvals after the restore');
      await traffic.stop();
      const books = await waitForBooks(p.sql, traffic);
      report('rabbitmq-cut', {
        did: 'cut authorizer and settlement from RabbitMQ during the stream, then restored it',
        during_cut: tally(during),
        approvals_not_yet_in_ledger_at_restore: unbooked_at_restore,
        all: tally(traffic.outcomes),
        approvals_answered: books.approved_answered,
        ledger_rows: books.ledger_rows,
        missing: books.missing.length,
        extra: books.extra.length,
        not_exactly_once: books.doubled.length,
      });
      expect(traffic.errors).toEqual([]);
      // The hot path never waits on RabbitMQ: decisions during the cut are approvals (at most a
      // Redis command that a busy machine let time out, system_error, which has nothing to do
      // with the broker: anything else fails the drill).
      expect(during.filter((o) => !o.approved && o.memo !== 'system_error')).toEqual([]);
      expect(during.filter((o) => o.approved).length).toBeGreaterThanOrEqual(150);
      expect(books).toMatchObject({ missing: [], extra: [], doubled: [] });
      expect(books.approved_answered).toBe(traffic.approvals().length);
    } finally {
      await traffic.stop();
    }
  });
});
