import { product_topology, type TopologyDescription } from '@afc/amqp';
import type { CardIssuerConfig } from '@afc/config';
import type { Logger } from '@afc/log';
import type { MarqetaClientOptions } from '@afc/marqeta';
import {
  amqpOptions,
  amqpPlugin,
  createService,
  personalStorePlugin,
  postgresOptions,
  postgresPlugin,
  redisOptions,
  redisPlugin,
  type Service,
} from '@afc/service-kit';
import { cardIssuerApp } from './app.ts';

// What tests (and drills) change beyond the environment: shorter retry delays on the queues,
// the Marqeta client's own retry and breaker settings.
export interface BuildOverrides {
  readonly topology?: TopologyDescription;
  readonly marqeta?: Pick<MarqetaClientOptions, 'retry' | 'breaker'>;
}

// A short in-call retry for a blip; longer outages are the queue's job (its delays, then parking).
const marqeta_retry = { max_attempts: 2, base_delay_ms: 200, max_delay_ms: 2_000, jitter: 'full' } as const;

// Infrastructure first, the issuer last: Fastify closes in reverse order, so in-flight
// issuances finish before their clients close.
export async function buildCardIssuer(
  config: CardIssuerConfig,
  logger: Logger,
  overrides: BuildOverrides = {},
): Promise<Service> {
  const app = await createService({ name: 'card-issuer', logger, body_limit_bytes: 16_384 });
  await app.register(postgresPlugin, {
    postgres: postgresOptions(config, 'card-issuer'),
    connect_attempts: config.PG_CONNECT_ATTEMPTS,
    migrate: true,
    readiness_critical: true,
    close_timeout_ms: 5_000,
  });
  await app.register(personalStorePlugin, {
    mongodb_uri: config.MONGODB_URI,
    mongodb_db: config.MONGODB_DB,
    readiness_critical: true,
  });
  await app.register(redisPlugin, {
    // A failed write-through fails the attempt, which the queue retries.
    redis: redisOptions(config, 'card-issuer', { max_retries_per_request: 2 }),
    ready_timeout_ms: 10_000,
    readiness_critical: true,
    close_timeout_ms: 2_000,
  });
  const topology = overrides.topology ?? product_topology;
  await app.register(amqpPlugin, {
    amqp: amqpOptions(config, 'card-issuer', topology),
    start_timeout_ms: 5_000,
    // Without the broker there is no work: reconnects in the background, reported not ready.
    required_at_start: false,
    readiness_critical: true,
    close_timeout_ms: 5_000,
  });
  await app.register(cardIssuerApp, {
    marqeta: {
      base_url: config.MARQETA_BASE_URL,
      application_token: config.MARQETA_APPLICATION_TOKEN,
      admin_access_token: config.MARQETA_ADMIN_ACCESS_TOKEN,
      request_timeout_ms: config.MARQETA_TIMEOUT_MS,
      retry: overrides.marqeta?.retry ?? marqeta_retry,
      ...(overrides.marqeta?.breaker === undefined ? {} : { breaker: overrides.marqeta.breaker }),
    },
    partitions: config.REDIS_PARTITIONS,
    prefetch_count: config.AMQP_PREFETCH,
    // Four Marqeta calls at most (user, card, activation, a 409 look-up), each bounded, plus
    // the writes: past this the attempt counts as failed and is retried.
    handler_timeout_ms: config.MARQETA_TIMEOUT_MS * 2 * 5 + 10_000,
    publish_timeout_ms: config.AMQP_CONFIRM_TIMEOUT_MS,
    drain_timeout_ms: 5_000,
  });
  return app;
}
