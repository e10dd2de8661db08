import type { TopologyDescription } from '@afc/amqp';
import type { CardIssuerConfig } from '@afc/config';
import type { Logger } from '@afc/log';
import type { MarqetaClientOptions } from '@afc/marqeta';
import { createService, registerInfrastructure, type Service } from '@afc/service-kit';
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
  const app = await createService({
    name: 'card-issuer',
    logger,
    body_limit_bytes: 16_384,
    under_pressure: { max_event_loop_delay_ms: config.SHED_EVENT_LOOP_DELAY_MS },
  });
  await registerInfrastructure(app, config, {
    name: 'card-issuer',
    // Without the broker there is no work: reconnects in the background, reported not ready.
    readiness_critical: { postgres: true, personal_store: true, redis: true, amqp: true },
    // A failed write-through fails the attempt, which the queue retries.
    redis: { max_retries_per_request: 2 },
    topology: overrides.topology,
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
