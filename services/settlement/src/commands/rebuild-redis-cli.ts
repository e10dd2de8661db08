import { parseArgs } from 'node:util';
import { createCardState, defineHoldScripts } from '@afc/card-state';
import { parseCommandLine } from '@afc/service-kit';
import { parseBatch, runCommand } from './context.ts';
import { rebuildPersonal } from './rebuild-personal.ts';
import { rebuildRedis } from './rebuild-redis.ts';

const usage = `pnpm rebuild-redis [--batch <n>]
Rebuilds the real-time state of every business card (card, controls, cardholder, counters) and
personal card (card, cardholder, wallet balance), and every open hold, from the data of record
(PostgreSQL and the personal store). Writes only what Redis lacks: safe to run twice, and beside
a running authorizer.`;

function parse() {
  const { values } = parseArgs({
    options: { batch: { type: 'string', default: '200' }, help: { type: 'boolean', default: false } },
  });
  const batch = parseBatch(values.batch);
  return { batch, help: values.help };
}

const args = parseCommandLine(usage, parse);

const needs = { postgres: true, redis: true, personal_store: true };
await runCommand('rebuild-redis', needs, async ({ app, config, logger }) => {
  const partitions = config.REDIS_PARTITIONS;
  const cards = await createCardState({
    redis: app.redis,
    partitions,
    refund_mode: 'counters_unchanged',
    logger,
  });
  const holds = await defineHoldScripts(app.redis, partitions);
  const report = await rebuildRedis(
    { sql: app.postgres.sql, cards, holds },
    { batch: args.batch, now_ms: Date.now() },
  );
  const personal = await rebuildPersonal(
    { sql: app.postgres.sql, cards, holds, personal_store: app.personalStore },
    { batch: args.batch, now_ms: Date.now() },
  );
  const w = report.written;
  const p = personal.written;
  const text = [
    `${report.cards} business cards read from PostgreSQL.`,
    `Written to Redis: ${w.card} card states, ${w.controls} controls, ${w.cardholder} cardholders, ${w.counters} counters (the rest were already there).`,
    `Open holds: ${report.holds.open} in the ledger, ${report.holds.restored} restored (the rest were already there), ${report.holds.not_held} never held by the authorizer (only Marqeta reported them; not restored).`,
    `${personal.cards} personal cards read from the personal store (${app.personalStore.backend}).`,
    `Written to Redis: ${p.card} card states, ${p.controls} controls, ${p.cardholder} cardholders, ${p.counters} counters, ${p.balance} wallet balances (the rest were already there).`,
    `Open personal holds: ${personal.holds.open} in the ledger, ${personal.holds.restored} restored, ${personal.holds.not_held} never held by the authorizer (only Marqeta reported them; not restored).`,
  ].join('\n');
  return { text, exit_code: 0 };
});
