import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@afc/log';
import { localServiceUrls, uniqueTestId } from '@afc/testkit';
import { type ChannelModel, connect } from 'amqplib';
import {
  type AmqpClientOptions,
  type QueueDescription,
  resolveTopology,
  type TopologyDescription,
} from '../src/index.ts';

export interface CapturedLogger {
  readonly logger: Logger;
  readonly lines: string[];
}

// Lines are kept for assertions (and for reading when a test fails under a debugger).
export function captureLogger(): CapturedLogger {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(String(chunk));
      callback();
    },
  });
  const level = process.env.AFC_TEST_LOG_LEVEL === 'silent' ? 'silent' : 'debug';
  return { logger: createLogger({ name: 'amqp-test', level, destination }), lines };
}

export function testNamespace(): string {
  return uniqueTestId('amqp');
}

// A namespaced topology of one exchange (`events`) and the given queues.
export function testTopology(queues: readonly QueueDescription[]): TopologyDescription {
  return {
    namespace: testNamespace(),
    exchanges: [{ name: 'events', type: 'topic' }],
    queues,
  };
}

export function clientOptions(
  topology: TopologyDescription,
  logger: Logger,
  overrides: Partial<AmqpClientOptions> = {},
): AmqpClientOptions {
  return {
    url: localServiceUrls.amqp,
    connection_name: `afc-amqp-test-${topology.namespace ?? 'none'}`,
    topology,
    logger,
    heartbeat_s: 5,
    connect_timeout_ms: 2_000,
    setup_timeout_ms: 10_000,
    reconnect_initial_delay_ms: 50,
    reconnect_max_delay_ms: 400,
    confirm_timeout_ms: 5_000,
    max_unconfirmed: 100,
    ...overrides,
  };
}

export function proxiedUrl(port: number): string {
  const url = new URL(localServiceUrls.amqp);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return url.toString();
}

// A connection of the test's own, for looking at queues from the broker's side.
export async function inspector(): Promise<ChannelModel> {
  return connect(localServiceUrls.amqp);
}

export async function messageCount(model: ChannelModel, queue: string): Promise<number> {
  const channel = await model.createChannel();
  try {
    return (await channel.checkQueue(queue)).messageCount;
  } finally {
    await channel.close();
  }
}

export async function consumerCount(model: ChannelModel, queue: string): Promise<number> {
  const channel = await model.createChannel();
  try {
    return (await channel.checkQueue(queue)).consumerCount;
  } finally {
    await channel.close();
  }
}

// Deletes exactly what this topology declared (and nothing of anyone else's).
export async function deleteTopology(topology: TopologyDescription, extra_queues: readonly string[] = []) {
  const resolved = resolveTopology(topology);
  const model = await inspector();
  try {
    const channel = await model.createChannel();
    for (const queue of resolved.queues.values()) {
      for (const name of [
        queue.work_queue,
        queue.parked_queue,
        ...queue.retry_tiers.map((tier) => tier.queue),
      ]) {
        await channel.deleteQueue(name);
      }
    }
    for (const name of extra_queues) await channel.deleteQueue(name);
    for (const exchange of [...resolved.exchanges.values(), resolved.dead_letter_exchange]) {
      await channel.deleteExchange(exchange);
    }
    await channel.close();
  } finally {
    await model.close();
  }
}

// Forwards like TcpProxy, but can hold back what the broker sends (confirms included) without
// dropping anything, to observe a client that is waiting for confirms.
export class HoldingProxy {
  readonly #target_port: number;
  // broker side → client side
  readonly #pairs: { readonly upstream: Socket; readonly client: Socket }[] = [];
  #server: Server | undefined;
  #holding = false;

  constructor(target_port: number) {
    this.#target_port = target_port;
  }

  async start(): Promise<number> {
    const server = createServer((client) => {
      const upstream = createConnection({ host: '127.0.0.1', port: this.#target_port });
      client.pipe(upstream);
      if (!this.#holding) upstream.pipe(client);
      this.#pairs.push({ upstream, client });
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    this.#server = server;
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, () => resolve()));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('HoldingProxy: no port');
    return address.port;
  }

  hold(): void {
    this.#holding = true;
    // Unpiped and paused, the broker's bytes wait in the socket buffer; none are lost.
    for (const { upstream, client } of this.#pairs) {
      upstream.unpipe(client);
      upstream.pause();
    }
  }

  release(): void {
    this.#holding = false;
    for (const { upstream, client } of this.#pairs) upstream.pipe(client);
  }

  async stop(): Promise<void> {
    for (const { upstream, client } of this.#pairs) {
      upstream.destroy();
      client.destroy();
    }
    const server = this.#server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export function amqpPort(): number {
  return Number(new URL(localServiceUrls.amqp).port || 5672);
}
