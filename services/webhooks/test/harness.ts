import { deleteTopology, product_topology, queue_names, type TopologyDescription } from '@afc/amqp';
import { loadConfig, type WebhooksConfig, webhooksConfigSchema } from '@afc/config';
import { createLogger } from '@afc/log';
import type { Service } from '@afc/service-kit';
import { captureLogs, localServiceUrls, uniqueTestId, waitUntil } from '@afc/testkit';
import { type Channel, type ChannelModel, connect } from 'amqplib';
import { buildWebhooks } from '../src/build-webhooks.ts';
import { webhook_path } from '../src/routes/webhook-route.ts';

export const webhook_username = 'marqeta-hooks';
export const webhook_password = 'a-long-enough-webhook-password-for-tests';
export const signature_secret = 'a-webhook-signature-secret-for-tests';
export const basic_auth = basic(webhook_username, webhook_password);

export function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

// Only the exchanges and the queue the receiver feeds: quorum queues are Raft groups, costly on
// the shared broker.
function testTopology(namespace: string): TopologyDescription {
  return {
    namespace,
    exchanges: product_topology.exchanges,
    queues: product_topology.queues.filter((queue) => queue.name === queue_names.webhook_events),
  };
}

export interface QueuedMessage {
  readonly message_id: unknown;
  readonly routing_key: string;
  readonly payload: Record<string, unknown>;
}

export interface Harness {
  readonly app: Service;
  readonly config: WebhooksConfig;
  // http://127.0.0.1:<port>/v1/webhooks/marqeta
  readonly url: string;
  readonly log_lines: string[];
  // Ready messages in the namespaced webhook-events queue (read over a connection of the
  // test's own, straight to the broker, never through a test's proxy).
  messageCount(): Promise<number>;
  // Takes exactly `count` messages off the queue (waiting for them), then checks none is left.
  take(count: number): Promise<QueuedMessage[]>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly env?: Readonly<Record<string, string>>;
  // Point the service's AMQP client at a TcpProxy instead of the broker itself.
  readonly amqp_url?: string;
}

// The real receiver (real config path, real RabbitMQ) isolated per test file by its broker
// namespace, listening on 127.0.0.1:0 so the simulator can deliver to it.
export async function startWebhooks(options: HarnessOptions = {}): Promise<Harness> {
  const namespace = uniqueTestId('wh');
  const topology = testTopology(namespace);
  const loaded = loadConfig(webhooksConfigSchema, {
    AMQP_URL: options.amqp_url ?? localServiceUrls.amqp,
    AMQP_NAMESPACE: namespace,
    WEBHOOK_BASIC_USERNAME: webhook_username,
    WEBHOOK_BASIC_PASSWORD: webhook_password,
    WEBHOOK_SIGNATURE_SECRET: signature_secret,
    ...options.env,
  });
  if (!loaded.ok) throw new Error(`bad test config: ${JSON.stringify(loaded.errors)}`);
  const { lines: log_lines, destination } = captureLogs();
  const logger = createLogger({ name: 'webhooks', level: 'info', destination });
  const cleanups: (() => Promise<unknown>)[] = [() => deleteTopology(localServiceUrls.amqp, topology)];
  const cleanUp = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    const app = await buildWebhooks(loaded.config, logger, { topology });
    cleanups.push(() => app.close());
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    const connection: ChannelModel = await connect(localServiceUrls.amqp, { timeout: 5_000 });
    cleanups.push(() => connection.close());
    const channel = await connection.createChannel();
    const queue = `${namespace}.${queue_names.webhook_events}`;
    return {
      app,
      config: loaded.config,
      url: `http://127.0.0.1:${address.port}${webhook_path}`,
      log_lines,
      messageCount: async () => (await channel.checkQueue(queue)).messageCount,
      take: (count) => take(channel, queue, count),
      close: cleanUp,
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

async function take(channel: Channel, queue: string, count: number): Promise<QueuedMessage[]> {
  const taken: QueuedMessage[] = [];
  await waitUntil(
    async () => {
      const message = await channel.get(queue, { noAck: true });
      if (message !== false) {
        taken.push({
          message_id: message.properties.messageId,
          routing_key: message.fields.routingKey,
          payload: JSON.parse(message.content.toString('utf8')) as Record<string, unknown>,
        });
      }
      return taken.length >= count;
    },
    { timeout_ms: 10_000, interval_ms: 5, message: `${count} messages in ${queue}` },
  );
  const left = (await channel.checkQueue(queue)).messageCount;
  if (left !== 0) throw new Error(`${left} more messages than the ${count} expected in ${queue}`);
  return taken;
}
