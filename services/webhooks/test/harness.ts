import {
  AmqpClient,
  deleteTopology,
  exchange_names,
  product_topology,
  queue_names,
  type TopologyDescription,
} from '@afc/amqp';
import { type CardStateStore, createCardState } from '@afc/card-state';
import { loadConfig, type WebhooksConfig, webhooksConfigSchema } from '@afc/config';
import { createLogger } from '@afc/log';
import type { WebhookReceived } from '@afc/messages';
import type { Service } from '@afc/service-kit';
import {
  type Cleanups,
  captureLogs,
  isolatedInfrastructure,
  localServiceUrls,
  startWithCleanups,
  type TestDatabase,
  waitUntil,
} from '@afc/testkit';
import { type Channel, type ChannelModel, connect } from 'amqplib';
import { buildWebhooks } from '../src/build-webhooks.ts';
import { routingKeyOf } from '../src/receiver/publish-events.ts';
import { webhook_path } from '../src/routes/webhook-route.ts';

export const webhook_username = 'marqeta-hooks';
export const webhook_password = 'a-long-enough-webhook-password-for-tests';
export const signature_secret = 'a-webhook-signature-secret-for-tests';
export const basic_auth = basic(webhook_username, webhook_password);

export function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

// The queues the receiver feeds (transaction webhooks go to settlement, the others to
// webhook-events) and no other: quorum queues are Raft groups, costly on the shared broker.
const fed_queues: readonly string[] = [queue_names.webhook_events, queue_names.settlement];

// Short retry delays: a test waits for a message's three attempts and its parking.
export const test_retry_delays_ms = [200, 400];

function testTopology(namespace: string): TopologyDescription {
  return {
    namespace,
    exchanges: product_topology.exchanges,
    queues: product_topology.queues
      .filter((queue) => fed_queues.includes(queue.name))
      .map((queue) => ({ ...queue, retry_delays_ms: test_retry_delays_ms })),
  };
}

export interface QueuedMessage {
  // The queue's name without the test namespace: `webhook-events` or `settlement`.
  readonly queue: string;
  readonly message_id: unknown;
  readonly routing_key: string;
  readonly payload: Record<string, unknown>;
}

export interface Harness {
  readonly app: Service;
  readonly config: WebhooksConfig;
  readonly database: TestDatabase;
  // The real-time state the authorizer decides on (the harness's Redis key prefix).
  readonly card_state: CardStateStore;
  // http://127.0.0.1:<port>/v1/webhooks/marqeta
  readonly url: string;
  readonly log_lines: string[];
  // Ready messages in the namespaced queues the receiver feeds (read over a connection of the
  // test's own, straight to the broker, never through a test's proxy).
  messageCount(): Promise<number>;
  // Takes exactly `count` messages off those queues (waiting for them), then checks none is left.
  take(count: number): Promise<QueuedMessage[]>;
  // Publishes one event as the receiver does (events exchange, webhook.<type>, message id = token).
  publishEvent(type: string, event: Record<string, unknown> & { token: string }): Promise<void>;
  // The /metrics text.
  metrics(): Promise<string>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly env?: Readonly<Record<string, string>>;
  // Point the service's AMQP client at a TcpProxy instead of the broker itself.
  readonly amqp_url?: string;
  // The same for PostgreSQL (given the test database's URL) and Redis.
  readonly database_url?: (database: TestDatabase) => string;
  readonly redis_url?: string;
  // Runs the webhook-events consumer (otherwise the receiver alone, and take() reads its queue).
  readonly consumer?: boolean;
}

// The real service (real config path, PostgreSQL, Redis, RabbitMQ) isolated per test file: its
// own database, Redis key prefix and broker namespace, all removed on close (also after a failed
// start); listening on 127.0.0.1:0 so the simulator can deliver to it.
export async function startWebhooks(options: HarnessOptions = {}): Promise<Harness> {
  return startWithCleanups((cleanups) => start(options, cleanups));
}

async function start(options: HarnessOptions, cleanups: Cleanups): Promise<Harness> {
  const { database, redis_prefix, namespace } = await isolatedInfrastructure(cleanups, 'wh');
  const topology = testTopology(namespace);
  cleanups.add(() => deleteTopology(localServiceUrls.amqp, topology));
  const loaded = loadConfig(webhooksConfigSchema, {
    DATABASE_URL: options.database_url?.(database) ?? database.url,
    REDIS_URL: options.redis_url ?? localServiceUrls.redis,
    REDIS_KEY_PREFIX: redis_prefix.prefix,
    AMQP_URL: options.amqp_url ?? localServiceUrls.amqp,
    AMQP_NAMESPACE: namespace,
    PG_POOL_MAX: '6',
    WEBHOOK_BASIC_USERNAME: webhook_username,
    WEBHOOK_BASIC_PASSWORD: webhook_password,
    WEBHOOK_SIGNATURE_SECRET: signature_secret,
    // A slow sample on a busy test machine must not shed a test's request (shedding has tests
    // of its own).
    SHED_EVENT_LOOP_DELAY_MS: '5000',
    ...options.env,
  });
  if (!loaded.ok) throw new Error(`bad test config: ${JSON.stringify(loaded.errors)}`);
  const { lines: log_lines, destination } = captureLogs();
  const logger = createLogger({ name: 'webhooks', level: 'info', destination });
  const app = await buildWebhooks(loaded.config, logger, { topology, consumer: options.consumer === true });
  cleanups.add(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const silent = createLogger({ name: 'test-marqeta', level: 'silent' });
  // Straight to the broker, never through a test's proxy.
  const publisher = new AmqpClient({
    url: localServiceUrls.amqp,
    connection_name: 'test-receiver',
    topology,
    logger: silent,
  });
  cleanups.add(() => publisher.close(5_000));
  await publisher.start(5_000);
  const connection: ChannelModel = await connect(localServiceUrls.amqp, { timeout: 5_000 });
  cleanups.add(() => connection.close());
  const channel = await connection.createChannel();
  const queues = fed_queues.map((name) => ({ name, full: `${namespace}.${name}` }));
  const card_state = await createCardState({
    redis: app.redis,
    partitions: loaded.config.REDIS_PARTITIONS,
    refund_mode: 'counters_unchanged',
    logger: silent,
  });
  return {
    app,
    config: loaded.config,
    database,
    card_state,
    url: `http://127.0.0.1:${address.port}${webhook_path}`,
    log_lines,
    messageCount: () => messageCount(channel, queues),
    take: (count) => take(channel, queues, count),
    async publishEvent(type, event) {
      const message: WebhookReceived = { type, event, received_at: new Date().toISOString() };
      await publisher.publish(exchange_names.events, routingKeyOf(type), message, {
        message_id: event.token,
        type: 'webhook.received',
      });
    },
    metrics: async () => (await app.inject({ method: 'GET', url: '/metrics' })).body,
    close: () => cleanups.run(),
  };
}

interface FedQueue {
  readonly name: string;
  readonly full: string;
}

async function messageCount(channel: Channel, queues: readonly FedQueue[]): Promise<number> {
  let total = 0;
  for (const queue of queues) total += (await channel.checkQueue(queue.full)).messageCount;
  return total;
}

async function take(channel: Channel, queues: readonly FedQueue[], count: number): Promise<QueuedMessage[]> {
  const names = queues.map((queue) => queue.full).join(', ');
  const taken: QueuedMessage[] = [];
  await waitUntil(
    async () => {
      for (const queue of queues) {
        const message = await channel.get(queue.full, { noAck: true });
        if (message === false) continue;
        taken.push({
          queue: queue.name,
          message_id: message.properties.messageId,
          routing_key: message.fields.routingKey,
          payload: JSON.parse(message.content.toString('utf8')) as Record<string, unknown>,
        });
      }
      return taken.length >= count;
    },
    { timeout_ms: 10_000, interval_ms: 5, message: `${count} messages in ${names}` },
  );
  const left = await messageCount(channel, queues);
  if (left !== 0) throw new Error(`${left} more messages than the ${count} expected in ${names}`);
  return taken;
}
