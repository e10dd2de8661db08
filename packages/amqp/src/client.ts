import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { type Logger, redactUrl } from '@afc/log';
import { type ChannelModel, connect } from 'amqplib';
import { type ConsumeOptions, type MessageHandler, ResilientConsumer } from './consumer.ts';
import { ClosedError, NotConnectedError, OperationTimeoutError, UnroutableError } from './errors.ts';
import {
  listParked,
  type ParkedMessage,
  type QueueBacklog,
  queueBacklog,
  type ReplayReport,
  replayParked,
} from './parked.ts';
import { ConfirmPublisher, type WirePublish } from './publisher.ts';
import {
  declareTopology,
  type ResolvedTopology,
  resolvedQueue,
  resolveTopology,
  type TopologyDescription,
} from './topology.ts';
import { backoffDelay, drainSet, interruptibleSleep, withTimeout } from './wait.ts';

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closing' | 'closed';

export interface AmqpClientOptions {
  readonly url: string;
  // Shown by the broker (rabbitmqctl list_connections client_properties): which process this is.
  readonly connection_name: string;
  readonly topology: TopologyDescription;
  readonly logger: Logger;
  readonly heartbeat_s?: number;
  // Bounds one connection attempt (TCP and AMQP handshake).
  readonly connect_timeout_ms?: number;
  // Bounds declaring the topology and opening channels and consumers after connecting.
  readonly setup_timeout_ms?: number;
  readonly reconnect_initial_delay_ms?: number;
  readonly reconnect_max_delay_ms?: number;
  // One budget per publish: waiting for a connection, for room, for drain and for the confirm.
  readonly confirm_timeout_ms?: number;
  readonly max_unconfirmed?: number;
  readonly client_properties?: Readonly<Record<string, string>>;
}

export const client_defaults = {
  heartbeat_s: 10,
  connect_timeout_ms: 5_000,
  setup_timeout_ms: 15_000,
  reconnect_initial_delay_ms: 250,
  reconnect_max_delay_ms: 15_000,
  confirm_timeout_ms: 10_000,
  max_unconfirmed: 1_000,
} as const;

export type JsonPayload = Readonly<Record<string, unknown>> | readonly unknown[];

// A payload already encoded as JSON text (e.g. read from a store as written): published as
// application/json without a parse and a second encoding. The caller vouches that it is JSON;
// consumers parse every body and park what does not parse.
export class EncodedJson {
  readonly text: string;

  constructor(text: string) {
    assert.ok(typeof text === 'string' && text.length > 0, 'EncodedJson needs text');
    this.text = text;
  }
}

export interface PublishOptions {
  // Required: the idempotency key downstream. A retry of the same message reuses it.
  readonly message_id: string;
  readonly headers?: Readonly<Record<string, unknown>>;
  readonly timestamp?: Date;
  readonly type?: string;
  readonly confirm_timeout_ms?: number;
}

export interface CloseReport {
  // Handlers still running at the deadline: their messages were not acked and will be redelivered.
  readonly abandoned_handlers: number;
  // Publishes written but not confirmed at the deadline: their callers got AFC_AMQP_CLOSED.
  readonly unconfirmed_publishes: number;
}

interface Session {
  readonly model: ChannelModel;
  readonly lost: Promise<Error>;
  readonly lose: (reason: Error) => void;
  // Set once the consumers registered so far are started; later ones start themselves.
  ready: boolean;
}

type Settings = Required<Omit<AmqpClientOptions, 'client_properties'>> &
  Pick<AmqpClientOptions, 'client_properties'>;

// One connection to the broker, kept alive for the life of the process: reconnects with capped,
// jittered exponential backoff (unbounded attempts, each one bounded), re-declares the topology,
// re-opens the publisher channel and re-creates every consumer. Emits 'state'.
export class AmqpClient extends EventEmitter<{ state: [ConnectionState] }> {
  readonly #settings: Settings;
  readonly #topology: ResolvedTopology;
  readonly #publisher: ConfirmPublisher;
  readonly #consumers: ResilientConsumer[] = [];
  readonly #stop_sleeping = new AbortController();
  #state: ConnectionState = 'idle';
  #session: Session | undefined;
  #loop: Promise<void> | undefined;
  #closing: Promise<CloseReport> | undefined;

  constructor(options: AmqpClientOptions) {
    super();
    this.#settings = { ...client_defaults, ...options };
    assert.ok(this.#settings.connection_name.length > 0, 'connection_name');
    this.#topology = resolveTopology(options.topology);
    this.#publisher = new ConfirmPublisher({
      max_unconfirmed: this.#settings.max_unconfirmed,
      logger: options.logger,
    });
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get topology(): ResolvedTopology {
    return this.#topology;
  }

  get unconfirmed_count(): number {
    return this.#publisher.unconfirmed_count;
  }

  // Starts the connection loop (once) and waits up to timeout_ms for the first connection. On
  // timeout it rejects with AFC_AMQP_NOT_CONNECTED and keeps trying in the background.
  async start(timeout_ms: number): Promise<void> {
    if (this.#closing !== undefined) throw new ClosedError('the client is closed');
    this.#loop ??= this.#supervise();
    if (this.#state === 'connected') return;
    let listener: (state: ConnectionState) => void = () => {};
    const reached = new Promise<ConnectionState>((resolve) => {
      listener = (state: ConnectionState) => {
        if (state === 'connected' || state === 'closing') resolve(state);
      };
      this.on('state', listener);
    });
    try {
      const state = await withTimeout(
        reached,
        timeout_ms,
        () => new NotConnectedError(`not connected within ${timeout_ms} ms`),
      );
      if (state !== 'connected') throw new ClosedError('the client closed while starting');
    } finally {
      this.off('state', listener);
    }
  }

  async publish(
    exchange: string,
    routing_key: string,
    payload: Buffer | JsonPayload | EncodedJson,
    options: PublishOptions,
  ) {
    assert.ok(
      typeof options.message_id === 'string' && options.message_id.length > 0,
      'message_id is required',
    );
    const full_exchange = this.#topology.exchanges.get(exchange);
    // An exchange the broker does not know would close the channel (404): refuse it here.
    if (full_exchange === undefined) throw new UnroutableError(`exchange ${exchange} is not in the topology`);
    const json = !Buffer.isBuffer(payload);
    const content = !json
      ? payload
      : Buffer.from(payload instanceof EncodedJson ? payload.text : JSON.stringify(payload), 'utf8');
    const properties = {
      contentType: json ? 'application/json' : 'application/octet-stream',
      // AMQP timestamps are whole seconds.
      timestamp: Math.floor((options.timestamp ?? new Date()).getTime() / 1000),
      appId: this.#settings.connection_name,
      ...(options.headers === undefined ? {} : { headers: { ...options.headers } }),
      ...(options.type === undefined ? {} : { type: options.type }),
    };
    return this.#publisher.publish({
      exchange: full_exchange,
      routing_key,
      content,
      message_id: options.message_id,
      properties,
      timeout_ms: options.confirm_timeout_ms ?? this.#settings.confirm_timeout_ms,
    });
  }

  // Registers a consumer for a topology queue (logical name). It starts now when connected and
  // again after every reconnection.
  async consume(queue_name: string, handler: MessageHandler, options: ConsumeOptions): Promise<void> {
    if (this.#closing !== undefined) throw new ClosedError('the client is closed');
    const consumer = new ResilientConsumer(
      {
        queue: resolvedQueue(this.#topology, queue_name),
        dead_letter_exchange: this.#topology.dead_letter_exchange,
        publish: (wire) => this.#publisher.publish(wire),
        republish_timeout_ms: this.#settings.confirm_timeout_ms,
        logger: this.#settings.logger.child({ queue: queue_name }),
      },
      handler,
      options,
    );
    this.#consumers.push(consumer);
    const session = this.#session;
    // Not ready: the session being set up iterates the live list and will start this one.
    if (session === undefined || !session.ready) return;
    try {
      await consumer.start(session.model, session.lose);
    } catch (error) {
      // The connection is being replaced; the next session starts this consumer.
      session.lose(error instanceof Error ? error : new Error(String(error)));
    }
  }

  async listParked(queue_name: string, max: number, timeout_ms?: number): Promise<ParkedMessage[]> {
    const model = this.#connectedModel();
    const queue = resolvedQueue(this.#topology, queue_name);
    const budget_ms = timeout_ms ?? this.#settings.confirm_timeout_ms;
    return withTimeout(
      listParked(model, queue, max, this.#settings.logger),
      budget_ms,
      () => new OperationTimeoutError(`listing ${queue_name}.parked took over ${budget_ms} ms`),
    );
  }

  // Messages waiting in a topology queue (ready: not those a consumer holds unacknowledged), in
  // its retry queues and in its parking queue: how far behind its consumers are.
  async backlog(queue_name: string, timeout_ms?: number): Promise<QueueBacklog> {
    const model = this.#connectedModel();
    const queue = resolvedQueue(this.#topology, queue_name);
    const budget_ms = timeout_ms ?? this.#settings.confirm_timeout_ms;
    return withTimeout(
      queueBacklog(model, queue, this.#settings.logger),
      budget_ms,
      () => new OperationTimeoutError(`reading the backlog of ${queue_name} took over ${budget_ms} ms`),
    );
  }

  async replayParked(
    queue_name: string,
    selection: {
      readonly message_ids?: readonly string[];
      readonly max: number;
      readonly timeout_ms?: number;
    },
  ): Promise<ReplayReport> {
    const model = this.#connectedModel();
    const queue = resolvedQueue(this.#topology, queue_name);
    const timeout_ms = selection.timeout_ms ?? this.#settings.confirm_timeout_ms;
    const publish = (wire: WirePublish) => this.#publisher.publish(wire);
    const chosen = { ...selection, timeout_ms };
    return replayParked(model, queue, publish, chosen, this.#settings.logger);
  }

  close(timeout_ms: number): Promise<CloseReport> {
    this.#closing ??= this.#close(timeout_ms);
    return this.#closing;
  }

  #connectedModel(): ChannelModel {
    const session = this.#session;
    if (this.#closing !== undefined) throw new ClosedError('the client is closed');
    if (session === undefined || !session.ready) throw new NotConnectedError('not connected to the broker');
    return session.model;
  }

  #setState(state: ConnectionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#settings.logger.info({ event: 'amqp.state', state }, `amqp ${state}`);
    this.emit('state', state);
  }

  // The connection loop. Iterative on purpose: it lives as long as the process.
  async #supervise(): Promise<void> {
    const logger = this.#settings.logger;
    const backoff = {
      initial_delay_ms: this.#settings.reconnect_initial_delay_ms,
      max_delay_ms: this.#settings.reconnect_max_delay_ms,
    };
    let failures = 0;
    let ever_connected = false;
    while (this.#closing === undefined) {
      this.#setState(ever_connected ? 'reconnecting' : 'connecting');
      let session: Session;
      try {
        session = await this.#establish();
      } catch (error) {
        failures += 1;
        const delay_ms = backoffDelay(failures, backoff);
        logger.warn({ event: 'amqp.connect.failed', err: error, failures, delay_ms }, 'connect failed');
        await interruptibleSleep(delay_ms, this.#stop_sleeping.signal);
        continue;
      }
      failures = 0;
      ever_connected = true;
      if (this.#closing !== undefined) {
        // close() began while we were connecting: it is not waiting on this connection.
        await this.#closeModel(session.model, this.#settings.connect_timeout_ms);
        break;
      }
      this.#setState('connected');
      const reason = await session.lost;
      this.#session = undefined;
      if (this.#closing !== undefined) break;
      // Even a first reconnect waits a little (jittered), so a fleet does not reconnect in step.
      const delay_ms = backoffDelay(1, backoff);
      logger.warn({ event: 'amqp.connection.lost', err: reason, delay_ms }, 'connection lost; reconnecting');
      await interruptibleSleep(delay_ms, this.#stop_sleeping.signal);
    }
  }

  async #establish(): Promise<Session> {
    const settings = this.#settings;
    const url = new URL(settings.url);
    url.searchParams.set('heartbeat', String(settings.heartbeat_s));
    settings.logger.info({ event: 'amqp.connect', url: redactUrl(settings.url) }, 'connecting');
    const socket_options = {
      timeout: settings.connect_timeout_ms,
      noDelay: true,
      clientProperties: { ...settings.client_properties, connection_name: settings.connection_name },
    };
    const model = await withTimeout(
      connect(url.toString(), socket_options),
      settings.connect_timeout_ms,
      () => new NotConnectedError(`connect timed out after ${settings.connect_timeout_ms} ms`),
      (late) => void late.close().catch(() => {}),
    );
    const session = this.#watch(model);
    this.#session = session;
    try {
      await withTimeout(
        this.#setup(session),
        settings.setup_timeout_ms,
        () => new NotConnectedError(`setup timed out after ${settings.setup_timeout_ms} ms`),
      );
    } catch (error) {
      session.lose(error instanceof Error ? error : new Error(String(error)));
      if (this.#session === session) this.#session = undefined;
      throw error;
    }
    return session;
  }

  // Any close of the connection, or of a channel we did not close ourselves, ends the session:
  // the whole connection is rebuilt, which also re-declares topology deleted under us.
  #watch(model: ChannelModel): Session {
    const logger = this.#settings.logger;
    let resolveLost: (reason: Error) => void = () => {};
    const lost = new Promise<Error>((resolve) => {
      resolveLost = resolve;
    });
    let ended = false;
    let closed = false;
    const lose = (reason: Error) => {
      if (ended) return;
      ended = true;
      resolveLost(reason);
      // While closing, close() owns the connection and its order of shutdown.
      if (!closed && this.#closing === undefined) void model.close().catch(() => {});
    };
    model.on('error', (error: unknown) => logger.warn({ event: 'amqp.connection.error', err: error }));
    model.on('close', (error: unknown) => {
      closed = true;
      lose(error instanceof Error ? error : new Error('connection closed'));
    });
    model.on('blocked', (reason: unknown) =>
      logger.warn({ event: 'amqp.connection.blocked', reason }, 'blocked'),
    );
    model.on('unblocked', () => logger.info({ event: 'amqp.connection.unblocked' }, 'unblocked'));
    return { model, lost, lose, ready: false };
  }

  async #setup(session: Session): Promise<void> {
    const { model, lose } = session;
    const logger = this.#settings.logger;
    const setup_channel = await model.createChannel();
    setup_channel.on('error', (error: unknown) => logger.error({ event: 'amqp.topology.error', err: error }));
    await declareTopology(setup_channel, this.#topology);
    await setup_channel.close();
    const publish_channel = await model.createConfirmChannel();
    publish_channel.on('error', (error: unknown) =>
      logger.warn({ event: 'amqp.publisher.channel_error', err: error }),
    );
    publish_channel.on('close', () => lose(new Error('the publisher channel closed')));
    this.#publisher.attach(publish_channel);
    // By index: consumers registered while we await are started by this loop too.
    for (let index = 0; index < this.#consumers.length; index += 1) {
      const consumer = this.#consumers[index];
      assert.ok(consumer !== undefined);
      await consumer.start(model, lose);
    }
    session.ready = true;
  }

  async #close(timeout_ms: number): Promise<CloseReport> {
    const deadline = Date.now() + timeout_ms;
    const logger = this.#settings.logger;
    this.#stop_sleeping.abort();
    this.#setState('closing');
    const session = this.#session;
    if (session?.ready) {
      // 1. Stop intake: no new deliveries; in-flight ones keep their channel to ack on.
      const cancels = Promise.allSettled(this.#consumers.map((consumer) => consumer.stopIntake()));
      await withTimeout(
        cancels,
        Math.max(deadline - Date.now(), 1),
        () => new Error('cancel timed out'),
      ).then(
        () => logger.info({ event: 'amqp.close.intake_stopped' }, 'consumers cancelled'),
        (error: unknown) => logger.warn({ event: 'amqp.close.cancel_failed', err: error }),
      );
    } else {
      this.#publisher.beginClosing();
    }
    // 2. In-flight handlers, which may still publish (retries, parking, follow-up events).
    let abandoned_handlers = 0;
    for (const consumer of this.#consumers)
      abandoned_handlers += await drainSet(consumer.in_flight, deadline);
    // 3. Pending confirms.
    this.#publisher.seal();
    const unconfirmed_publishes = await this.#publisher.settled(deadline);
    this.#publisher.beginClosing();
    // 4. Consumer channels (flushing their acks), then the connection, which closes the rest:
    // unacked deliveries of abandoned handlers go back to their queues, and whatever is still
    // unconfirmed is rejected.
    const channels_closed = Promise.allSettled(this.#consumers.map((consumer) => consumer.closeChannel()));
    await withTimeout(
      channels_closed,
      Math.max(deadline - Date.now(), 100),
      () => new Error('timeout'),
    ).catch(() => {});
    // The session now, not at the start: it may have been lost (nothing to close) or, if close()
    // began mid-connect, be one still being set up.
    const live = this.#session;
    if (live !== undefined) await this.#closeModel(live.model, Math.max(deadline - Date.now(), 100));
    if (this.#loop !== undefined) {
      await withTimeout(this.#loop, Math.max(deadline - Date.now(), 100), () => new Error('loop')).catch(
        () => {},
      );
    }
    const report = { abandoned_handlers, unconfirmed_publishes };
    logger.info({ event: 'amqp.closed', ...report }, 'amqp closed');
    this.#setState('closed');
    return report;
  }

  async #closeModel(model: ChannelModel, timeout_ms: number): Promise<void> {
    try {
      await withTimeout(model.close(), timeout_ms, () => new Error(`close took over ${timeout_ms} ms`));
    } catch (error) {
      this.#settings.logger.warn({ event: 'amqp.close.forced', err: error }, 'closing the socket');
      // amqplib has no forced close: destroy its socket so nothing outlives close().
      (model.connection as unknown as { stream?: { destroy?: () => void } }).stream?.destroy?.();
    }
  }
}
