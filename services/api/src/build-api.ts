import type { TopologyDescription } from '@afc/amqp';
import type { ApiConfig } from '@afc/config';
import type { Logger } from '@afc/log';
import {
  createService,
  registerInfrastructure,
  type Service,
  type UnderPressureOptions,
} from '@afc/service-kit';
import { apiApp } from './app.ts';

// Infrastructure first, the control plane last: Fastify closes in reverse order, so requests
// and the outbox publisher's last round finish before their clients close.
// `overrides` is for tests: a shared test machine delays the event loop past the shedding limit
// for reasons that have nothing to do with what is tested.
export interface ApiOverrides {
  readonly under_pressure?: UnderPressureOptions;
  // Shorter retry delays, so a test sees a card event parked in seconds.
  readonly topology?: TopologyDescription;
}

export async function buildApi(
  config: ApiConfig,
  logger: Logger,
  overrides: ApiOverrides = {},
): Promise<Service> {
  const app = await createService({
    name: 'api',
    logger,
    body_limit_bytes: 65_536,
    under_pressure: { max_event_loop_delay_ms: config.SHED_EVENT_LOOP_DELAY_MS, ...overrides.under_pressure },
  });
  await registerInfrastructure(app, config, {
    name: 'api',
    readiness_critical: {
      // Every route reads or writes the data of record.
      postgres: true,
      personal_store: true,
      // Write-through and rate limits need it.
      redis: true,
      // Commands wait in the PostgreSQL outbox while RabbitMQ is away: the API keeps answering.
      amqp: false,
    },
    redis: { max_retries_per_request: 2 },
    topology: overrides.topology,
  });
  await app.register(apiApp, {
    admin_key: config.API_ADMIN_KEY,
    rate_limit_per_minute: config.API_RATE_LIMIT_PER_MINUTE,
    partitions: config.REDIS_PARTITIONS,
    outbox_batch_size: 100,
    publish_timeout_ms: config.AMQP_CONFIRM_TIMEOUT_MS,
    personal_issue_sweep: {
      stuck_after_ms: config.PERSONAL_ISSUE_STUCK_AFTER_MS,
      interval_ms: config.PERSONAL_ISSUE_SWEEP_INTERVAL_MS,
    },
    // One insert per event: a small window is plenty, and a stuck insert is retried well
    // within the queue's delays.
    card_events: { prefetch_count: 20, handler_timeout_ms: 15_000, drain_timeout_ms: 5_000 },
    marqeta: {
      base_url: config.MARQETA_BASE_URL,
      application_token: config.MARQETA_APPLICATION_TOKEN,
      admin_access_token: config.MARQETA_ADMIN_ACCESS_TOKEN,
      request_timeout_ms: config.MARQETA_TIMEOUT_MS,
      // A person waits on the answer: one quick retry, then 503 and their own retry.
      retry: { max_attempts: 2, base_delay_ms: 100, max_delay_ms: 1_000, jitter: 'full' },
    },
  });
  return app;
}
