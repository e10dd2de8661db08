import { parseArgs } from 'node:util';
import { integerOption, parseCommandLine } from '@afc/service-kit';
import { runCommand } from './context.ts';
import {
  formatListing,
  formatReplay,
  listParkedMessages,
  product_queue_names,
  type ReplaySelection,
  replayParkedMessages,
} from './parked.ts';

const usage = `pnpm parked [--queue <name>] [--max <n>]            list parked messages
pnpm parked --replay <message id>... [--queue <name>]  replay chosen messages
pnpm parked --replay-all --queue <name> [--max <n>]    replay every parked message of a queue
queues: ${product_queue_names.join(', ')}`;

function parse() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      queue: { type: 'string' },
      max: { type: 'string', default: '100' },
      replay: { type: 'boolean', default: false },
      'replay-all': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const max = integerOption('--max', values.max, 1, 10_000);
  if (values.queue !== undefined && !product_queue_names.includes(values.queue))
    throw new Error(`unknown queue ${values.queue}`);
  if (values.replay && positionals.length === 0) throw new Error('--replay needs at least one message id');
  if (values['replay-all'] && values.queue === undefined) throw new Error('--replay-all needs --queue');
  if (values.replay && values['replay-all']) throw new Error('--replay and --replay-all exclude each other');
  if (!values.replay && !values['replay-all'] && positionals.length > 0)
    throw new Error(`unexpected arguments: ${positionals.join(' ')}`);
  return { ...values, max, ids: positionals };
}

const args = parseCommandLine(usage, parse);
const queues = args.queue === undefined ? product_queue_names : [args.queue];

await runCommand('parked', { amqp: queues }, async ({ app }) => {
  if (!args.replay && !args['replay-all']) {
    return { text: formatListing(await listParkedMessages(app.amqp, queues, args.max)), exit_code: 0 };
  }
  const selection: ReplaySelection = args['replay-all']
    ? { kind: 'all', queue: args.queue ?? '' }
    : { kind: 'ids', message_ids: args.ids, queues };
  const outcome = await replayParkedMessages(app.amqp, selection, args.max);
  // An id that was asked for and not replayed is a failure the operator must see.
  return { text: formatReplay(outcome), exit_code: outcome.not_found.length === 0 ? 0 : 1 };
});
