import assert from 'node:assert/strict';
import { type Logger, withMessageId } from '@afc/log';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { copyHeaders, header_names, stringHeader, truncateReason } from './headers.ts';
import type { WirePublish } from './publisher.ts';
import type { ResolvedQueue } from './topology.ts';

export interface MessageContext {
  readonly message_id: string;
  // The routing key the message was first published with (also after retries).
  readonly routing_key: string;
  readonly payload: unknown;
  readonly headers: Readonly<Record<string, unknown>>;
  // 1 for the first delivery, up to max_attempts.
  readonly attempt: number;
  readonly logger: Logger;
  // Aborted when handler_timeout_ms passes: the message is already being retried by then.
  readonly signal: AbortSignal;
}

export type MessageHandler = (message: MessageContext) => Promise<void>;

export interface ConsumeOptions {
  readonly prefetch_count: number;
  readonly handler_timeout_ms?: number;
  // Idempotency by message_id: a delivery whose id is processed is acked without calling the
  // handler; mark_processed runs after the handler succeeded and before the ack. For exactly-once
  // effects the mark must commit with the handler's own work (same transaction, unique key).
  readonly is_processed?: (message_id: string) => Promise<boolean>;
  readonly mark_processed?: (message_id: string) => Promise<void>;
}

export const default_handler_timeout_ms = 30_000;

export interface ConsumerDependencies {
  readonly queue: ResolvedQueue;
  readonly dead_letter_exchange: string;
  readonly publish: (wire: WirePublish) => Promise<void>;
  // Bounds each retry or park publish.
  readonly republish_timeout_ms: number;
  readonly logger: Logger;
}

type Inspected =
  | {
      readonly ok: true;
      readonly message_id: string;
      readonly payload: unknown;
      readonly attempt: number;
      readonly routing_key: string;
    }
  | { readonly ok: false; readonly reason: string; readonly attempt: number };

function inspectDelivery(message: ConsumeMessage): Inspected {
  const headers = message.properties.headers;
  const raw_attempt = headers?.[header_names.attempt];
  const attempt = raw_attempt === undefined ? 1 : raw_attempt;
  if (typeof attempt !== 'number' || !Number.isSafeInteger(attempt) || attempt < 1) {
    return { ok: false, reason: `poison: invalid ${header_names.attempt} header`, attempt: 1 };
  }
  const message_id: unknown = message.properties.messageId;
  if (typeof message_id !== 'string' || message_id.length === 0) {
    return { ok: false, reason: 'poison: missing message_id', attempt };
  }
  let payload: unknown;
  try {
    payload = JSON.parse(message.content.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: `poison: unparseable body: ${(error as Error).message}`, attempt };
  }
  const routing_key = stringHeader(headers, header_names.original_routing_key) ?? message.fields.routingKey;
  return { ok: true, message_id, payload, attempt, routing_key };
}

type Outcome =
  | { readonly kind: 'handled' | 'duplicate' }
  | { readonly kind: 'failed'; readonly reason: string };

// Consumes one work queue over reconnections: the client calls start() on every new connection.
// Acks only after the handler resolved; a failure goes to the next retry tier (confirmed before
// the original is acked), the last failure and poison go to the parking queue.
export class ResilientConsumer {
  readonly #dependencies: ConsumerDependencies;
  readonly #handler: MessageHandler;
  readonly #options: ConsumeOptions;
  readonly #in_flight = new Set<Promise<void>>();
  // Copies of one message_id (a redelivery next to a republished duplicate) are handled one
  // after the other, so is_processed sees the first copy's mark.
  readonly #by_message_id = new Map<string, Promise<void>>();
  #channel: Channel | undefined;
  #consumer_tag: string | undefined;

  constructor(dependencies: ConsumerDependencies, handler: MessageHandler, options: ConsumeOptions) {
    assert.ok(Number.isSafeInteger(options.prefetch_count) && options.prefetch_count >= 1, 'prefetch_count');
    assert.equal(
      options.is_processed === undefined,
      options.mark_processed === undefined,
      'both hooks or none',
    );
    this.#dependencies = dependencies;
    this.#handler = handler;
    this.#options = options;
  }

  get queue(): ResolvedQueue {
    return this.#dependencies.queue;
  }

  get in_flight(): ReadonlySet<Promise<void>> {
    return this.#in_flight;
  }

  // Opens a channel of its own (prefetch is per consumer, and a channel error here must not take
  // the publisher down) and starts consuming. onLost: the channel closed or the broker cancelled.
  async start(model: ChannelModel, onLost: (reason: Error) => void): Promise<void> {
    const { queue, logger } = this.#dependencies;
    const channel = await model.createChannel();
    channel.on('error', (error: unknown) =>
      logger.warn({ event: 'amqp.consumer.channel_error', err: error }),
    );
    channel.on('close', () => {
      if (this.#channel !== channel) return;
      this.#channel = undefined;
      this.#consumer_tag = undefined;
      onLost(new Error(`the consumer channel of ${queue.work_queue} closed`));
    });
    await channel.prefetch(this.#options.prefetch_count, false);
    this.#channel = channel;
    const reply = await channel.consume(
      queue.work_queue,
      (message) => {
        if (message === null) onLost(new Error(`the broker cancelled the consumer of ${queue.work_queue}`));
        else this.#deliver(channel, message);
      },
      { noAck: false, exclusive: false },
    );
    this.#consumer_tag = reply.consumerTag;
    logger.info({ event: 'amqp.consumer.started', queue: queue.work_queue }, 'consuming');
  }

  // Stops intake; in-flight handlers go on and ack on the still-open channel.
  async stopIntake(): Promise<void> {
    const channel = this.#channel;
    const tag = this.#consumer_tag;
    this.#consumer_tag = undefined;
    if (channel !== undefined && tag !== undefined) await channel.cancel(tag);
  }

  // Closing the channel itself, before the connection, is what makes the last acks count: they
  // travel on this channel ahead of its close, while a connection close could overtake them
  // and return the messages to the queue.
  async closeChannel(): Promise<void> {
    const channel = this.#channel;
    // Detached first, so the close below is not reported as a loss.
    this.#channel = undefined;
    this.#consumer_tag = undefined;
    if (channel !== undefined) await channel.close();
  }

  #deliver(channel: Channel, message: ConsumeMessage): void {
    const work = this.#process(channel, message).catch((error: unknown) => {
      // A bug in this file, not in the handler: the delivery stays unacked and comes back after
      // a reconnection.
      this.#dependencies.logger.error(
        { event: 'amqp.consumer.internal_error', err: error },
        'consumer error',
      );
    });
    const tracked = work.finally(() => this.#in_flight.delete(tracked));
    this.#in_flight.add(tracked);
  }

  async #process(channel: Channel, message: ConsumeMessage): Promise<void> {
    const inspected = inspectDelivery(message);
    if (!inspected.ok) {
      const logger = this.#dependencies.logger;
      logger.warn({ event: 'amqp.consumer.poison', reason: inspected.reason }, 'parking poison message');
      await this.#retryOrPark(channel, message, inspected.attempt, inspected.reason, true, logger);
      return;
    }
    const { message_id } = inspected;
    // Bounded by prefetch: at most prefetch_count copies can be waiting here.
    for (
      let prior = this.#by_message_id.get(message_id);
      prior;
      prior = this.#by_message_id.get(message_id)
    ) {
      await prior;
    }
    const run = this.#handleOnce(channel, message, inspected);
    this.#by_message_id.set(message_id, run);
    try {
      await run;
    } finally {
      if (this.#by_message_id.get(message_id) === run) this.#by_message_id.delete(message_id);
    }
  }

  async #handleOnce(
    channel: Channel,
    message: ConsumeMessage,
    info: Inspected & { ok: true },
  ): Promise<void> {
    const logger = withMessageId(this.#dependencies.logger, info.message_id);
    const outcome = await this.#attempt(message, info, logger);
    if (outcome.kind === 'failed') {
      logger.warn({ event: 'amqp.consumer.failed', attempt: info.attempt, reason: outcome.reason }, 'failed');
      await this.#retryOrPark(channel, message, info.attempt, outcome.reason, false, logger);
      return;
    }
    if (outcome.kind === 'duplicate') logger.info({ event: 'amqp.consumer.duplicate' }, 'already processed');
    this.#ack(channel, message, logger);
  }

  // The idempotency check, the handler and the mark share one handler_timeout_ms budget.
  async #attempt(message: ConsumeMessage, info: Inspected & { ok: true }, logger: Logger): Promise<Outcome> {
    const { is_processed, mark_processed } = this.#options;
    const timeout_ms = this.#options.handler_timeout_ms ?? default_handler_timeout_ms;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new Error(`handler timed out after ${timeout_ms} ms`));
      }, timeout_ms);
    });
    const context: MessageContext = {
      message_id: info.message_id,
      routing_key: info.routing_key,
      payload: info.payload,
      headers: message.properties.headers ?? {},
      attempt: info.attempt,
      logger,
      signal: controller.signal,
    };
    // Async, so a handler that throws synchronously is a failure like any other.
    const work = async (): Promise<Outcome> => {
      if (is_processed !== undefined && (await is_processed(info.message_id))) return { kind: 'duplicate' };
      await this.#handler(context);
      if (mark_processed !== undefined) await mark_processed(info.message_id);
      return { kind: 'handled' };
    };
    try {
      return await Promise.race([work(), timeout]);
    } catch (error) {
      return { kind: 'failed', reason: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
    }
  }

  async #retryOrPark(
    channel: Channel,
    message: ConsumeMessage,
    attempt: number,
    reason: string,
    poison: boolean,
    logger: Logger,
  ): Promise<void> {
    // The delivery died with its channel and the broker will redeliver it: a retry copy now
    // would only duplicate it.
    if (this.#channel !== channel) {
      logger.warn({ event: 'amqp.consumer.channel_lost', reason }, 'not retrying: redelivery pending');
      return;
    }
    const wire = this.#nextHop(message, attempt, truncateReason(reason), poison);
    try {
      await this.#dependencies.publish(wire);
    } catch (error) {
      // Not acked: back to the queue now. The quorum delivery limit bounds this loop.
      logger.error({ event: 'amqp.consumer.republish_failed', err: error }, 'requeueing');
      this.#settle(channel, message, logger, 'requeue');
      return;
    }
    this.#ack(channel, message, logger);
  }

  #nextHop(message: ConsumeMessage, attempt: number, reason: string, poison: boolean): WirePublish {
    const { queue, dead_letter_exchange } = this.#dependencies;
    const headers = message.properties.headers;
    const now = new Date().toISOString();
    const trail = {
      [header_names.last_error]: reason,
      [header_names.first_failed_at]: stringHeader(headers, header_names.first_failed_at) ?? now,
      [header_names.original_exchange]:
        stringHeader(headers, header_names.original_exchange) ?? message.fields.exchange,
      [header_names.original_routing_key]:
        stringHeader(headers, header_names.original_routing_key) ?? message.fields.routingKey,
    };
    const tier = queue.retry_tiers[attempt - 1];
    const park = poison || attempt >= queue.max_attempts || tier === undefined;
    const { messageId, contentType, contentEncoding, timestamp, type, appId, correlationId } =
      message.properties;
    const properties = {
      contentType,
      contentEncoding,
      timestamp,
      type,
      appId,
      correlationId,
      headers: park
        ? {
            ...copyHeaders(headers),
            ...trail,
            [header_names.park_reason]: reason,
            [header_names.attempts]: attempt,
            [header_names.parked_at]: now,
          }
        : { ...copyHeaders(headers), ...trail, [header_names.attempt]: attempt + 1 },
    };
    return {
      // Parking goes through the dead-letter exchange (bound by work queue name); a retry goes
      // straight to its tier through the default exchange.
      exchange: park ? dead_letter_exchange : '',
      routing_key: park ? queue.work_queue : (tier?.queue ?? ''),
      content: message.content,
      message_id: typeof messageId === 'string' ? messageId : undefined,
      properties: withoutUndefined(properties),
      timeout_ms: this.#dependencies.republish_timeout_ms,
    };
  }

  #ack(channel: Channel, message: ConsumeMessage, logger: Logger): void {
    this.#settle(channel, message, logger, 'ack');
  }

  #settle(channel: Channel, message: ConsumeMessage, logger: Logger, how: 'ack' | 'requeue'): void {
    if (this.#channel !== channel) {
      logger.warn({ event: 'amqp.consumer.ack_lost', how }, 'channel gone; the broker will redeliver');
      return;
    }
    try {
      if (how === 'ack') channel.ack(message);
      else channel.nack(message, false, true);
      logger.debug({ event: how === 'ack' ? 'amqp.consumer.acked' : 'amqp.consumer.requeued' }, how);
    } catch (error) {
      logger.warn(
        { event: 'amqp.consumer.ack_lost', how, err: error },
        'channel gone; the broker will redeliver',
      );
    }
  }
}

// exactOptionalPropertyTypes: amqplib's options must not carry explicit undefined values.
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}
