import {
  AmqpClient,
  deleteTopology,
  exchange_names,
  product_topology,
  queue_names,
  routing_keys,
  type TopologyDescription,
} from '@afc/amqp';
import { type CardStateStore, createCardState } from '@afc/card-state';
import { type CardIssuerConfig, cardIssuerConfigSchema, loadConfig } from '@afc/config';
import { createLogger } from '@afc/log';
import { MarqetaClient } from '@afc/marqeta';
import { buildMarqetaSim, type MarqetaSim } from '@afc/marqeta-sim';
import type { Service } from '@afc/service-kit';
import {
  type Cleanups,
  captureLogs,
  isolatedInfrastructure,
  localServiceUrls,
  startWithCleanups,
} from '@afc/testkit';
import { buildCardIssuer } from '../src/build-card-issuer.ts';

export const application_token = 'issuer-test-app';
export const admin_access_token = 'issuer-test-admin-access-token';
// A product whose cards are ACTIVE on issue, as the product's programs are configured.
export const product_token = 'product-activate';
export const unactivated_product_token = 'product-unactivated';

export interface ReceivedEvent {
  readonly message_id: string;
  readonly routing_key: string;
  readonly payload: Record<string, unknown>;
}

// What the issuer logged about one card's issuance (its outcome log lines, parsed).
export type IssuerEvent = 'card_issuer.issued' | 'card_issuer.already_issued' | 'card_issuer.failed';

export interface Harness {
  readonly app: Service;
  readonly config: CardIssuerConfig;
  readonly sim: MarqetaSim;
  readonly card_state: CardStateStore;
  readonly namespace: string;
  readonly log_lines: string[];
  // card.issued and card.issue.failed as a consumer of the card-events queue receives them
  // (every delivery, duplicates included), oldest first.
  readonly events: ReceivedEvent[];
  // Outcome log lines of one card, oldest first.
  outcomesOf(card_token: string, event: IssuerEvent): Record<string, unknown>[];
  publishCommand(command: unknown, message_id: string): Promise<void>;
  // Handler attempts logged for one command (by message_id).
  attemptsOf(message_id: string): number;
  close(): Promise<void>;
}

// One retry tier long enough for a test to change a fault knob between attempts once it saw
// the first one fail, short enough to keep the suite quick.
const test_retry_delays_ms = [800, 800];

function testTopology(namespace: string): TopologyDescription {
  return {
    ...product_topology,
    namespace,
    queues: product_topology.queues.map((queue) =>
      queue.name === queue_names.card_issuance ? { ...queue, retry_delays_ms: test_retry_delays_ms } : queue,
    ),
  };
}

async function startSim(): Promise<{ sim: MarqetaSim; origin: string }> {
  const sim = buildMarqetaSim({ application_token, admin_access_token, log_level: 'silent' });
  const origin = await sim.listen();
  const logger = createLogger({ name: 'sim-setup', level: 'silent' });
  const client = new MarqetaClient({
    base_url: `${origin}/v3`,
    application_token,
    admin_access_token,
    logger,
  });
  const start_date = '2024-01-01';
  await client.createCardProduct({
    token: product_token,
    name: 'Activate on issue',
    start_date,
    config: { card_life_cycle: { activate_upon_issue: true } },
  });
  await client.createCardProduct({ token: unactivated_product_token, name: 'Activate later', start_date });
  await client.close();
  return { sim, origin };
}

// The real card issuer (real config path, PostgreSQL, Redis, RabbitMQ) isolated per test file:
// its own database, key prefix and broker namespace; Marqeta is the in-process simulator.
export async function startCardIssuer(): Promise<Harness> {
  // Undone in reverse order on close, and also when the start fails half-way, so a broken
  // start leaves no database, keys or quorum queues behind.
  return startWithCleanups((cleanups) => start(cleanups));
}

async function start(cleanups: Cleanups): Promise<Harness> {
  const { database, redis_prefix, namespace } = await isolatedInfrastructure(cleanups, 'ci');
  const topology = testTopology(namespace);
  // Quorum queues are Raft groups: leaving them behind slows the shared broker for everyone.
  cleanups.add(() => deleteTopology(localServiceUrls.amqp, topology));
  const { sim, origin } = await startSim();
  cleanups.add(() => sim.close());
  const loaded = loadConfig(cardIssuerConfigSchema, {
    DATABASE_URL: database.url,
    REDIS_URL: localServiceUrls.redis,
    REDIS_KEY_PREFIX: redis_prefix.prefix,
    AMQP_URL: localServiceUrls.amqp,
    AMQP_NAMESPACE: namespace,
    MARQETA_BASE_URL: `${origin}/v3`,
    MARQETA_APPLICATION_TOKEN: application_token,
    MARQETA_ADMIN_ACCESS_TOKEN: admin_access_token,
    MARQETA_TIMEOUT_MS: '5000',
    PG_POOL_MAX: '4',
  });
  if (!loaded.ok) throw new Error(`bad test config: ${JSON.stringify(loaded.errors)}`);
  const { lines: log_lines, destination } = captureLogs();
  const logger = createLogger({ name: 'card-issuer', level: 'info', destination });
  const app = await buildCardIssuer(loaded.config, logger, {
    topology,
    // One HTTP attempt per delivery and a breaker that never opens: attempts are the queue's,
    // and counting them is exact.
    marqeta: {
      retry: { max_attempts: 1, base_delay_ms: 1, max_delay_ms: 1, jitter: 'full' },
      breaker: {
        failure_threshold: 1_000_000,
        minimum_calls: 1_000_000,
        window_size: 1_000_000,
        failure_ratio: 1,
      },
    },
  });
  cleanups.add(() => app.close());
  await app.ready();
  const silent = createLogger({ name: 'test-events', level: 'silent' });
  const control_plane = new AmqpClient({
    url: localServiceUrls.amqp,
    connection_name: 'test-control-plane',
    topology,
    logger: silent,
  });
  cleanups.add(() => control_plane.close(5_000));
  await control_plane.start(5_000);
  const events: ReceivedEvent[] = [];
  await control_plane.consume(
    queue_names.card_events,
    async (message) => {
      events.push({
        message_id: message.message_id,
        routing_key: message.routing_key,
        payload: message.payload as Record<string, unknown>,
      });
    },
    { prefetch_count: 10 },
  );
  const card_state = await createCardState({
    redis: app.redis,
    partitions: loaded.config.REDIS_PARTITIONS,
    refund_mode: 'counters_unchanged',
    logger: silent,
  });
  return {
    app,
    config: loaded.config,
    sim,
    card_state,
    namespace,
    log_lines,
    events,
    outcomesOf(card_token, event) {
      return log_lines
        .filter((line) => line.includes(`"${event}"`) && line.includes(card_token))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((entry) => entry.event === event && entry.card_token === card_token);
    },
    async publishCommand(command, message_id) {
      await control_plane.publish(
        exchange_names.events,
        routing_keys.card_issue_requested,
        command as Record<string, unknown>,
        {
          message_id,
        },
      );
    },
    attemptsOf(message_id) {
      return log_lines.filter((line) => line.includes('"card_issuer.attempt"') && line.includes(message_id))
        .length;
    },
    close: () => cleanups.run(),
  };
}
