import {
  AmqpClient,
  deleteTopology,
  exchange_names,
  product_topology,
  queue_names,
  type TopologyDescription,
} from '@afc/amqp';
import { type CardStateStore, createCardState, type OutboxEvent } from '@afc/card-state';
import { loadConfig, type SettlementConfig, settlementConfigSchema } from '@afc/config';
import { createLogger } from '@afc/log';
import type { Service } from '@afc/service-kit';
import {
  type Cleanups,
  captureLogs,
  isolatedInfrastructure,
  localServiceUrls,
  startWithCleanups,
  waitUntil,
} from '@afc/testkit';
import { buildSettlement } from '../src/build-settlement.ts';
import { createEventHandler, type EventOutcome } from '../src/handle-event.ts';

export interface Harness {
  readonly app: Service;
  readonly config: SettlementConfig;
  readonly client: AmqpClient;
  readonly log_lines: string[];
  // The card-state store the authorizer would use, on the test's Redis key prefix.
  readonly cards: CardStateStore;
  publish(event: OutboxEvent | Record<string, unknown>, message_id?: string): Promise<void>;
  // As the webhooks service publishes a transaction event: events exchange, webhook.transactions.
  publishWebhook(event: Record<string, unknown>): Promise<void>;
  // The settlement handler called directly (no broker), on the app's own clients.
  handle(routing_key: string, message_id: string, payload: unknown): Promise<EventOutcome>;
  // Deliveries the handler finished (applied or duplicate), counted from the logs.
  settled(): number;
  waitSettled(count: number): Promise<void>;
  close(): Promise<void>;
}

// Only the settlement queue, with short retry delays: quorum queues are costly on a shared broker.
function testTopology(namespace: string): TopologyDescription {
  const settlement = product_topology.queues.find((queue) => queue.name === queue_names.settlement);
  if (settlement === undefined) throw new Error('no settlement queue in the product topology');
  return {
    exchanges: product_topology.exchanges,
    queues: [{ ...settlement, retry_delays_ms: [200, 400] }],
    namespace,
  };
}

// The real settlement service (real config path, PostgreSQL, RabbitMQ) isolated per test file:
// its own database and broker namespace, both deleted on close, also after a failed start.
export async function startSettlement(): Promise<Harness> {
  return startWithCleanups((cleanups) => start(cleanups));
}

async function start(cleanups: Cleanups): Promise<Harness> {
  const { database, redis_prefix: prefix, namespace } = await isolatedInfrastructure(cleanups, 'st');
  const topology = testTopology(namespace);
  cleanups.add(() => deleteTopology(localServiceUrls.amqp, topology));
  const loaded = loadConfig(settlementConfigSchema, {
    DATABASE_URL: database.url,
    REDIS_URL: localServiceUrls.redis,
    REDIS_KEY_PREFIX: prefix.prefix,
    AMQP_URL: localServiceUrls.amqp,
    AMQP_NAMESPACE: namespace,
    PG_POOL_MAX: '6',
    AMQP_PREFETCH: '8',
    // Tests whose events are dated in the past: their holds must not expire under them.
    HOLD_EXPIRY_SWEEP_INTERVAL_MS: '0',
  });
  if (!loaded.ok) throw new Error(`bad test config: ${JSON.stringify(loaded.errors)}`);
  const { lines: log_lines, destination } = captureLogs();
  const logger = createLogger({ name: 'settlement', level: 'info', destination });
  const app = await buildSettlement(loaded.config, logger, { topology });
  cleanups.add(() => app.close());
  await app.ready();
  const client = new AmqpClient({
    url: localServiceUrls.amqp,
    connection_name: 'test-authorizer-relay',
    topology,
    logger: createLogger({ name: 'test-relay', level: 'silent' }),
  });
  cleanups.add(() => client.close(5_000));
  await client.start(5_000);
  const settled = () => log_lines.filter((line) => line.includes('"settlement.event"')).length;
  const silent = createLogger({ name: 'settlement-direct', level: 'silent' });
  const cards = await createCardState({
    redis: app.redis,
    partitions: loaded.config.REDIS_PARTITIONS,
    refund_mode: 'counters_unchanged',
    logger: silent,
  });
  let last: EventOutcome = 'ignored';
  const handler = createEventHandler({
    postgres: app.postgres,
    personal_store: app.personalStore,
    card_state: cards,
    hold_expiry_ms: loaded.config.HOLD_EXPIRY_HOURS * 3_600_000,
    on_outcome: (outcome) => {
      last = outcome;
    },
  });
  return {
    app,
    config: loaded.config,
    client,
    log_lines,
    cards,
    async publishWebhook(event) {
      const payload = { type: 'transactions', event, received_at: new Date().toISOString() };
      await client.publish(exchange_names.events, 'webhook.transactions', payload, {
        message_id: String(event.token),
        type: 'webhook.received',
        confirm_timeout_ms: 5_000,
      });
    },
    async handle(routing_key, message_id, payload) {
      const signal = new AbortController().signal;
      await handler({ message_id, routing_key, payload, headers: {}, attempt: 1, logger: silent, signal });
      return last;
    },
    // As the authorizer's relay does: routing key = type, message id = event_id.
    async publish(event, message_id) {
      const type = typeof event.type === 'string' ? event.type : 'authorization.approved';
      const id = message_id ?? String(event.event_id);
      await client.publish(exchange_names.transactions, type, event as Record<string, unknown>, {
        message_id: id,
        type,
        confirm_timeout_ms: 5_000,
      });
    },
    settled,
    async waitSettled(count) {
      await waitUntil(() => settled() >= count, { timeout_ms: 20_000, message: `${count} settled` });
    },
    close: () => cleanups.run(),
  };
}
