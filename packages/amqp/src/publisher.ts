import assert from 'node:assert/strict';
import type { Logger } from '@afc/log';
import type { ConfirmChannel, Message, Options } from 'amqplib';
import {
  ClosedError,
  NackedError,
  NotConnectedError,
  PublishTimeoutError,
  UnroutableError,
} from './errors.ts';
import { ChangeSignal } from './wait.ts';

// One message as it goes on the wire: full (namespaced) names, body already encoded.
export interface WirePublish {
  readonly exchange: string;
  readonly routing_key: string;
  readonly content: Buffer;
  // Only a parked poison message may lack one.
  readonly message_id: string | undefined;
  readonly properties: Omit<Options.Publish, 'messageId' | 'persistent' | 'mandatory'>;
  readonly timeout_ms: number;
}

export interface ConfirmPublisherOptions {
  readonly max_unconfirmed: number;
  readonly logger: Logger;
}

interface Pending {
  readonly key: string;
  readonly channel: ConfirmChannel;
  readonly message_id: string | undefined;
  // Set by basic.return, which the broker sends before the ack of the same message.
  returned: string | undefined;
  done: boolean;
  caller_settled: boolean;
  timer: NodeJS.Timeout | undefined;
  resolve: () => void;
  reject: (error: Error) => void;
}

function returnKey(exchange: string, routing_key: string, message_id: string): string {
  return `${exchange}\u0000${routing_key}\u0000${message_id}`;
}

// Publishes on a confirm channel and resolves only on the broker's ack. A publish never hangs
// (one deadline covers waiting for a connection, for room, for drain and for the confirm) and is
// never assumed confirmed: a channel lost with publishes in flight rejects them (AFC_AMQP_CLOSED),
// so the caller retries with the same message_id and the consumer deduplicates.
export class ConfirmPublisher {
  readonly #options: ConfirmPublisherOptions;
  readonly #change = new ChangeSignal();
  readonly #pending = new Set<Pending>();
  readonly #by_return_key = new Map<string, Pending[]>();
  #channel: ConfirmChannel | undefined;
  #needs_drain = false;
  #closing = false;
  #sealed = false;

  constructor(options: ConfirmPublisherOptions) {
    assert.ok(
      Number.isSafeInteger(options.max_unconfirmed) && options.max_unconfirmed >= 1,
      'max_unconfirmed',
    );
    this.#options = options;
  }

  // Messages written to the broker and not yet confirmed (counts ones whose caller timed out:
  // they still occupy the broker until it answers).
  get unconfirmed_count(): number {
    return this.#pending.size;
  }

  attach(channel: ConfirmChannel): void {
    // A channel of a connection being torn down may not have reported its close yet.
    const previous = this.#channel;
    if (previous !== undefined) this.#detach(previous);
    this.#channel = channel;
    this.#needs_drain = false;
    channel.on('return', (message: Message) => this.#onReturn(channel, message));
    channel.on('drain', () => {
      this.#needs_drain = false;
      this.#change.notify();
    });
    // Before amqplib's own close handler, which would report in-flight publishes as failed with a
    // plain error: ours rejects them as AFC_AMQP_CLOSED first, and the late callbacks are ignored.
    channel.prependListener('close', () => this.#detach(channel));
    this.#change.notify();
  }

  // Closing while disconnected: waiting for a reconnection that will not come is pointless.
  beginClosing(): void {
    this.#closing = true;
    this.#change.notify();
  }

  // No more publishes are accepted; those in flight still get their confirms.
  seal(): void {
    this.#sealed = true;
    this.#change.notify();
  }

  // Waits until every written message is confirmed or the deadline passes; returns how many
  // are still unconfirmed.
  async settled(deadline: number): Promise<number> {
    while (this.#pending.size > 0) {
      if (!(await this.#change.wait(deadline))) break;
    }
    return this.#pending.size;
  }

  async publish(wire: WirePublish): Promise<void> {
    const deadline = Date.now() + wire.timeout_ms;
    // Bounded by the deadline: every wait below returns false once it has passed.
    for (;;) {
      if (this.#sealed) throw new ClosedError('the publisher is closed');
      const channel = this.#channel;
      if (channel === undefined) {
        if (this.#closing) throw new ClosedError('the client is closing and not connected');
        if (await this.#change.wait(deadline)) continue;
        throw new NotConnectedError(`not connected to the broker within ${wire.timeout_ms} ms`);
      }
      if (this.#pending.size >= this.#options.max_unconfirmed || this.#needs_drain) {
        if (await this.#change.wait(deadline)) continue;
        const why = this.#needs_drain ? 'the socket did not drain' : 'no room under max_unconfirmed';
        throw new PublishTimeoutError(`${why} within ${wire.timeout_ms} ms`);
      }
      return this.#send(channel, wire, deadline);
    }
  }

  #send(channel: ConfirmChannel, wire: WirePublish, deadline: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry: Pending = {
        key: returnKey(wire.exchange, wire.routing_key, wire.message_id ?? ''),
        channel,
        message_id: wire.message_id,
        returned: undefined,
        done: false,
        caller_settled: false,
        timer: undefined,
        resolve,
        reject,
      };
      this.#track(entry);
      // The message stays counted as unconfirmed after a timeout: the broker may still take it.
      entry.timer = setTimeout(() => {
        this.#settleCaller(entry, new PublishTimeoutError(`no confirm within ${wire.timeout_ms} ms`));
      }, deadline - Date.now());
      const options: Options.Publish = { ...wire.properties, persistent: true, mandatory: true };
      if (wire.message_id !== undefined) options.messageId = wire.message_id;
      try {
        const flushed = channel.publish(wire.exchange, wire.routing_key, wire.content, options, (error) =>
          this.#onConfirm(entry, error),
        );
        if (!flushed) this.#needs_drain = true;
      } catch (error) {
        // amqplib throws synchronously once the channel is closing: nothing reached the broker.
        this.#untrack(entry);
        this.#settleCaller(entry, new ClosedError('the channel closed before the publish', { cause: error }));
      }
    });
  }

  #track(entry: Pending): void {
    this.#pending.add(entry);
    const list = this.#by_return_key.get(entry.key);
    if (list === undefined) this.#by_return_key.set(entry.key, [entry]);
    else list.push(entry);
  }

  #untrack(entry: Pending): void {
    entry.done = true;
    this.#pending.delete(entry);
    const list = this.#by_return_key.get(entry.key);
    if (list !== undefined) {
      const rest = list.filter((other) => other !== entry);
      if (rest.length === 0) this.#by_return_key.delete(entry.key);
      else this.#by_return_key.set(entry.key, rest);
    }
    this.#change.notify();
  }

  #settleCaller(entry: Pending, error: Error | undefined): void {
    if (entry.caller_settled) return;
    entry.caller_settled = true;
    clearTimeout(entry.timer);
    if (error === undefined) entry.resolve();
    else entry.reject(error);
  }

  #onConfirm(entry: Pending, error: unknown): void {
    // Already rejected as closed by #detach: amqplib's late "channel closed" callback.
    if (entry.done) return;
    this.#untrack(entry);
    if (error) {
      this.#settleCaller(entry, new NackedError(`the broker nacked message ${entry.message_id}`));
    } else if (entry.returned !== undefined) {
      this.#settleCaller(
        entry,
        new UnroutableError(`message ${entry.message_id} unroutable: ${entry.returned}`),
      );
    } else {
      this.#settleCaller(entry, undefined);
    }
  }

  // Returns carry no delivery tag, so they are matched by (exchange, routing key, message_id),
  // oldest first: two in-flight copies with the same triple route the same way.
  #onReturn(channel: ConfirmChannel, message: Message): void {
    const message_id = String(message.properties.messageId ?? '');
    const key = returnKey(message.fields.exchange, message.fields.routingKey, message_id);
    const entry = this.#by_return_key
      .get(key)
      ?.find((candidate) => candidate.channel === channel && candidate.returned === undefined);
    const reason = String((message.fields as { replyText?: unknown }).replyText ?? 'returned');
    if (entry === undefined) {
      this.#options.logger.error(
        { event: 'amqp.publish.unmatched_return', message_id, reason },
        'unmatched return',
      );
      return;
    }
    entry.returned = reason;
  }

  #detach(channel: ConfirmChannel): void {
    if (this.#channel === channel) {
      this.#channel = undefined;
      this.#needs_drain = false;
    }
    for (const entry of [...this.#pending]) {
      if (entry.channel !== channel) continue;
      this.#untrack(entry);
      this.#settleCaller(
        entry,
        new ClosedError(`channel closed before message ${entry.message_id} was confirmed`),
      );
    }
    this.#change.notify();
  }
}
