import { parseArgs } from 'node:util';
import { queue_names } from '@afc/amqp';
import { createCardState, defineHoldScripts } from '@afc/card-state';
import { parseCommandLine, table } from '@afc/service-kit';
import { parseBatch, runCommand } from './context.ts';
import { type ReconcileReport, reconcileCounters } from './reconcile.ts';
import { type BalanceReport, reconcileBalances } from './reconcile-balances.ts';

const usage = `pnpm reconcile [--dry-run] [--force] [--batch <n>]
Compares every business card's Redis counters with the durable totals, and every personal
balance in Redis with its wallet in the personal store, and repairs Redis.
  --dry-run  report the differences, change nothing
  --force    repair although events wait in the outbox or the settlement queue`;

function formatBalances(report: BalanceReport, dry_run: boolean): string {
  const rows = report.changes.map((c) => [
    c.user_token,
    `${c.redis.available_minor} / ${c.redis.held_minor}`,
    `${c.books.available_minor} / ${c.books.held_minor}`,
    c.outcome,
  ]);
  const header = ['cardholder', 'redis available / held', 'wallet available / held', 'outcome'];
  const o = report.outcomes;
  return [
    rows.length === 0 ? 'Redis balances agree with the wallets.' : table(header, rows),
    '',
    `${report.balances_checked} balances checked: ${report.in_sync} in sync, ${report.without_wallet} without a wallet,`,
    `${o.repaired} repaired, ${o.would_repair} to repair${dry_run ? ' (dry run)' : ''}, ${o.raced} changed during the repair (run again), ${o.moving} being settled (run again).`,
  ].join('\n');
}

export function formatReconcile(report: ReconcileReport, dry_run: boolean): string {
  const rows = report.changes.map((c) => [
    c.card_token,
    `${c.window} ${c.window_start}`,
    `${c.redis.amount_minor} / ${c.redis.count}`,
    `${c.durable.amount_minor} / ${c.durable.count}`,
    c.outcome,
  ]);
  const header = ['card', 'window', 'redis amount / count', 'books amount / count', 'outcome'];
  const o = report.outcomes;
  const lines = [
    rows.length === 0 ? 'Redis counters agree with the books.' : table(header, rows),
    '',
    `${report.cards_checked} cards checked: ${report.in_sync} in sync, ${report.not_loaded} not loaded in Redis,`,
    `${o.repaired} repaired, ${o.would_repair} to repair${dry_run ? ' (dry run)' : ''}, ${o.raced} changed during the repair (run again), ${o.moving} being settled (run again).`,
    `Not yet in the books: ${report.outbox_backlog} events in the outbox, ${report.queue_backlog} in the settlement queue (ready, retrying, parked).`,
  ];
  if (report.refused)
    lines.push(
      'REFUSED: the books are behind Redis while the outbox has events; wait for it to drain, or --force.',
    );
  return lines.join('\n');
}

function parse() {
  const { values } = parseArgs({
    options: {
      'dry-run': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      batch: { type: 'string', default: '200' },
      help: { type: 'boolean', default: false },
    },
  });
  const batch = parseBatch(values.batch);
  return { dry_run: values['dry-run'], force: values.force, batch, help: values.help };
}

const args = parseCommandLine(usage, parse);

const needs = { postgres: true, redis: true, personal_store: true, amqp: [queue_names.settlement] };
await runCommand('reconcile', needs, async ({ app, config, logger }) => {
  const partitions = config.REDIS_PARTITIONS;
  const cards = await createCardState({
    redis: app.redis,
    partitions,
    refund_mode: 'counters_unchanged',
    logger,
  });
  const holds = await defineHoldScripts(app.redis, partitions);
  const report = await reconcileCounters(
    {
      sql: app.postgres.sql,
      redis: app.redis,
      cards,
      holds,
      queue_backlog: async () => {
        const b = await app.amqp.backlog(queue_names.settlement);
        return b.ready + b.retrying + b.parked;
      },
    },
    { dry_run: args.dry_run, force: args.force, now_ms: Date.now(), batch: args.batch },
  );
  const balances = await reconcileBalances(
    {
      redis: app.redis,
      cards,
      holds,
      personal_store: app.personalStore,
      key_prefix: config.REDIS_KEY_PREFIX,
    },
    { repair: !args.dry_run && !report.refused, page: args.batch },
  );
  // Not done: refused, or cards or balances that must be looked at again.
  const again = (o: ReconcileReport['outcomes']) => o.raced > 0 || o.moving > 0;
  const incomplete = report.refused || again(report.outcomes) || again(balances.outcomes);
  const text = `Counters\n\n${formatReconcile(report, args.dry_run)}\n\nBalances\n\n${formatBalances(balances, args.dry_run || report.refused)}`;
  return { text, exit_code: incomplete ? 3 : 0 };
});
