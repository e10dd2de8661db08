// `pnpm outbox`: the api outbox's parked commands (parked-commands.ts), listed or requeued.
import { parseArgs } from 'node:util';
import { loadConfigOrExit, migrateConfigSchema } from '@afc/config';
import { createLogger } from '@afc/log';
import { createPostgres } from '@afc/postgres';
import {
  integerOption,
  parseCommandLine,
  postgresOptions,
  runOperationsCommand,
  table,
} from '@afc/service-kit';
import {
  isMessageId,
  listParkedCommands,
  type ParkedCommand,
  type RequeueSelection,
  requeueParkedCommands,
} from './parked-commands.ts';

const usage = `pnpm outbox [--max <n>]                      list parked commands, oldest first
pnpm outbox --requeue <message id>...        requeue chosen commands (first attempt, due now)
pnpm outbox --requeue-all [--max <n>]        requeue every parked command (at most n)`;

function parse() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      max: { type: 'string', default: '100' },
      requeue: { type: 'boolean', default: false },
      'requeue-all': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const max = integerOption('--max', values.max, 1, 10_000);
  if (values.requeue && values['requeue-all'])
    throw new Error('--requeue and --requeue-all exclude each other');
  if (values.requeue && positionals.length === 0) throw new Error('--requeue needs at least one message id');
  if (!values.requeue && positionals.length > 0)
    throw new Error(`unexpected arguments: ${positionals.join(' ')}`);
  const bad = positionals.filter((id) => !isMessageId(id));
  if (bad.length > 0) throw new Error(`not a message id (a UUID): ${bad.join(' ')}`);
  return { ...values, max, ids: positionals };
}

function listing(commands: readonly ParkedCommand[]): string {
  if (commands.length === 0) return 'No parked commands.';
  const header = ['message id', 'routing key', 'exchange', 'card', 'attempts', 'parked at', 'last error'];
  const rows = commands.map((command) => [
    command.message_id,
    command.routing_key,
    command.exchange,
    command.card_token ?? '-',
    String(command.attempts),
    command.parked_at.toISOString(),
    command.last_error ?? '-',
  ]);
  return `${table(header, rows)}\n${commands.length} parked command(s) shown.`;
}

const args = parseCommandLine(usage, parse);
// Only the database: the settings `pnpm migrate` reads (DATABASE_URL, PG_*, LOG_LEVEL).
const config = loadConfigOrExit(migrateConfigSchema, 'outbox');
const logger = createLogger({ name: 'outbox', level: 'warn', destination: process.stderr });
await runOperationsCommand(
  'outbox',
  async () => createPostgres(postgresOptions({ ...config, PG_POOL_MAX: 1 }, 'afc-outbox-cli'), logger),
  (postgres) => postgres.close(5_000),
  async (postgres) => {
    if (!args.requeue && !args['requeue-all']) {
      return { text: listing(await listParkedCommands(postgres.sql, args.max)), exit_code: 0 };
    }
    const selection: RequeueSelection = args['requeue-all']
      ? { kind: 'all' }
      : { kind: 'ids', message_ids: args.ids };
    const outcome = await requeueParkedCommands(postgres.sql, selection, args.max);
    const lines = [`${outcome.requeued.length} command(s) requeued.`, ...outcome.requeued];
    if (outcome.not_found.length > 0)
      lines.push(`Not parked (unknown, published or still retried): ${outcome.not_found.join(' ')}`);
    // An id that was asked for and not requeued is a failure the operator must see.
    return { text: lines.join('\n'), exit_code: outcome.not_found.length === 0 ? 0 : 1 };
  },
);
