import assert from 'node:assert/strict';
import type { Logger } from '@afc/log';
import type { Channel, ChannelModel, GetMessage } from 'amqplib';
import { copyHeaders, header_names, numberHeader, stringHeader } from './headers.ts';
import type { WirePublish } from './publisher.ts';
import type { ResolvedQueue } from './topology.ts';

export interface ParkedMessage {
  // Undefined for a message parked because it had none.
  readonly message_id: string | undefined;
  readonly original_exchange: string | undefined;
  readonly original_routing_key: string | undefined;
  readonly park_reason: string | undefined;
  readonly attempts: number | undefined;
  readonly first_failed_at: string | undefined;
  readonly parked_at: string | undefined;
  readonly headers: Readonly<Record<string, unknown>>;
  // As text: a poison body need not be JSON.
  readonly body: string;
}

export interface ReplayReport {
  readonly replayed: readonly string[];
  // Looked at and left parked (not selected).
  readonly kept: number;
}

function describe(message: GetMessage): ParkedMessage {
  const headers = message.properties.headers ?? {};
  const message_id: unknown = message.properties.messageId;
  return {
    message_id: typeof message_id === 'string' && message_id.length > 0 ? message_id : undefined,
    original_exchange: stringHeader(headers, header_names.original_exchange),
    original_routing_key: stringHeader(headers, header_names.original_routing_key),
    // Parked by the broker itself (quorum delivery limit, a rejection): its reason is all we have.
    park_reason:
      stringHeader(headers, header_names.park_reason) ??
      (headers['x-first-death-reason'] === undefined
        ? undefined
        : `broker: ${stringHeader(headers, 'x-first-death-reason')}`),
    attempts: numberHeader(headers, header_names.attempts),
    first_failed_at: stringHeader(headers, header_names.first_failed_at),
    parked_at: stringHeader(headers, header_names.parked_at),
    headers,
    body: message.content.toString('utf8'),
  };
}

async function withChannel<T>(model: ChannelModel, logger: Logger, work: (channel: Channel) => Promise<T>) {
  const channel = await model.createChannel();
  channel.on('error', (error: unknown) => logger.warn({ event: 'amqp.parked.channel_error', err: error }));
  try {
    return await work(channel);
  } finally {
    // Closing the channel returns every message it still holds unacked to the parking queue:
    // whatever happens above, nothing is lost.
    await channel.close().catch(() => {});
  }
}

// Non-destructive: takes up to `max` messages without acking, then closes the channel, which
// puts them all back. (A crash in between puts them back too.)
export async function listParked(
  model: ChannelModel,
  queue: ResolvedQueue,
  max: number,
  logger: Logger,
): Promise<ParkedMessage[]> {
  assert.ok(Number.isSafeInteger(max) && max >= 1, 'max');
  return withChannel(model, logger, async (channel) => {
    const found: ParkedMessage[] = [];
    while (found.length < max) {
      const message = await channel.get(queue.parked_queue, { noAck: false });
      if (message === false) break;
      found.push(describe(message));
    }
    return found;
  });
}

function replayWire(queue: ResolvedQueue, message: GetMessage, timeout_ms: number): WirePublish {
  const { messageId, contentType, contentEncoding, timestamp, type, appId, correlationId } =
    message.properties;
  // A fresh start: attempt and failure history go; the original route stays for the handler.
  const headers = copyHeaders(message.properties.headers, [
    header_names.attempt,
    header_names.attempts,
    header_names.last_error,
    header_names.first_failed_at,
    header_names.park_reason,
    header_names.parked_at,
  ]);
  headers[header_names.replayed_at] = new Date().toISOString();
  const properties = Object.fromEntries(
    Object.entries({ contentType, contentEncoding, timestamp, type, appId, correlationId, headers }).filter(
      ([, value]) => value !== undefined,
    ),
  );
  return {
    exchange: '',
    routing_key: queue.work_queue,
    content: message.content,
    message_id: typeof messageId === 'string' && messageId.length > 0 ? messageId : undefined,
    properties,
    timeout_ms,
  };
}

// Republishes the chosen parked messages (all when message_ids is undefined) to the work queue
// with the attempt count reset; each is acked off the parking queue only after the broker
// confirmed its copy. Looks at most `max` messages; the ones not chosen go back when the channel
// closes. A failed publish throws: that message and the rest stay parked.
export async function replayParked(
  model: ChannelModel,
  queue: ResolvedQueue,
  publish: (wire: WirePublish) => Promise<void>,
  selection: { readonly message_ids?: readonly string[]; readonly max: number; readonly timeout_ms: number },
  logger: Logger,
): Promise<ReplayReport> {
  assert.ok(Number.isSafeInteger(selection.max) && selection.max >= 1, 'max');
  const wanted = selection.message_ids === undefined ? undefined : new Set(selection.message_ids);
  return withChannel(model, logger, async (channel) => {
    const replayed: string[] = [];
    let kept = 0;
    for (let seen = 0; seen < selection.max; seen += 1) {
      if (wanted !== undefined && replayed.length === wanted.size) break;
      const message = await channel.get(queue.parked_queue, { noAck: false });
      if (message === false) break;
      const { message_id } = describe(message);
      if (wanted !== undefined && (message_id === undefined || !wanted.has(message_id))) {
        kept += 1;
        continue;
      }
      await publish(replayWire(queue, message, selection.timeout_ms));
      channel.ack(message);
      replayed.push(message_id ?? '');
      logger.info({ event: 'amqp.parked.replayed', message_id, queue: queue.work_queue }, 'replayed');
    }
    return { replayed, kept };
  });
}

export interface QueueBacklog {
  readonly ready: number;
  readonly retrying: number;
  readonly parked: number;
}

// checkQueue on each of the queue's queues (declared with the topology): passive, changes nothing.
export async function queueBacklog(
  model: ChannelModel,
  queue: ResolvedQueue,
  logger: Logger,
): Promise<QueueBacklog> {
  return withChannel(model, logger, async (channel) => {
    const count = async (name: string) => (await channel.checkQueue(name)).messageCount;
    let retrying = 0;
    for (const tier of queue.retry_tiers) retrying += await count(tier.queue);
    return { ready: await count(queue.work_queue), retrying, parked: await count(queue.parked_queue) };
  });
}
