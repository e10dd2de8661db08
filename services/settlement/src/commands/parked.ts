import { type AmqpClient, type ParkedMessage, product_topology, type ReplayReport } from '@afc/amqp';
import { table } from '@afc/service-kit';

export const product_queue_names: readonly string[] = product_topology.queues.map((queue) => queue.name);

export interface ParkedListing {
  readonly queue: string;
  readonly messages: readonly ParkedMessage[];
  // At least this many more were not looked at (the listing is bounded).
  readonly truncated: boolean;
}

// Non-destructive: the broker gets every message back when the listing channel closes.
export async function listParkedMessages(
  client: AmqpClient,
  queues: readonly string[],
  max_per_queue: number,
): Promise<ParkedListing[]> {
  const listings: ParkedListing[] = [];
  for (const queue of queues) {
    const found = await client.listParked(queue, max_per_queue + 1);
    listings.push({
      queue,
      messages: found.slice(0, max_per_queue),
      truncated: found.length > max_per_queue,
    });
  }
  return listings;
}

export type ReplaySelection =
  | { readonly kind: 'ids'; readonly message_ids: readonly string[]; readonly queues: readonly string[] }
  | { readonly kind: 'all'; readonly queue: string };

export interface ReplayOutcome {
  readonly replayed: readonly { readonly queue: string; readonly message_id: string }[];
  // Ids asked for and found in no parking queue.
  readonly not_found: readonly string[];
}

// Republishes the chosen parked messages to their work queues (attempts reset; each leaves the
// parking queue only once the broker confirmed its copy). `max` bounds what one run looks at.
export async function replayParkedMessages(
  client: AmqpClient,
  selection: ReplaySelection,
  max: number,
): Promise<ReplayOutcome> {
  const replayed: { queue: string; message_id: string }[] = [];
  if (selection.kind === 'all') {
    const report: ReplayReport = await client.replayParked(selection.queue, { max });
    for (const message_id of report.replayed) replayed.push({ queue: selection.queue, message_id });
    return { replayed, not_found: [] };
  }
  let wanted = [...new Set(selection.message_ids)];
  for (const queue of selection.queues) {
    if (wanted.length === 0) break;
    const report = await client.replayParked(queue, { message_ids: wanted, max });
    for (const message_id of report.replayed) replayed.push({ queue, message_id });
    const done = new Set(report.replayed);
    wanted = wanted.filter((id) => !done.has(id));
  }
  return { replayed, not_found: wanted };
}

function reasonOf(message: ParkedMessage): string {
  const reason = message.park_reason ?? '(none)';
  return reason.length > 80 ? `${reason.slice(0, 79)}…` : reason;
}

export function formatListing(listings: readonly ParkedListing[]): string {
  const rows = listings.flatMap((listing) =>
    listing.messages.map((m) => [
      listing.queue,
      m.message_id ?? '(no id)',
      m.attempts === undefined ? '-' : String(m.attempts),
      m.first_failed_at ?? '-',
      m.parked_at ?? '-',
      reasonOf(m),
    ]),
  );
  const counts = listings.map((l) => `${l.queue}: ${l.messages.length}${l.truncated ? '+' : ''}`).join(', ');
  const header = ['queue', 'message id', 'attempts', 'first seen (failed)', 'parked at', 'reason'];
  const body = rows.length === 0 ? 'No parked messages.' : table(header, rows);
  return `${body}\n\nParked per queue: ${counts}`;
}

export function formatReplay(outcome: ReplayOutcome): string {
  const lines = outcome.replayed.map((r) => `replayed  ${r.queue}  ${r.message_id}`);
  for (const id of outcome.not_found) lines.push(`not found ${id}`);
  lines.push(`\n${outcome.replayed.length} replayed, ${outcome.not_found.length} not found.`);
  return lines.join('\n');
}
