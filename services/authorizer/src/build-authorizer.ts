import type { TopologyDescription } from '@afc/amqp';
import type { AuthorizerConfig } from '@afc/config';
import type { Logger } from '@afc/log';
import {
  createService,
  registerInfrastructure,
  type Service,
  type UnderPressureOptions,
} from '@afc/service-kit';
import { authorizerApp } from './app.ts';

export interface AuthorizerOverrides {
  // Tests declare only the queues they use (quorum queues are costly on a shared broker).
  readonly topology?: TopologyDescription;
  // Fault drills set tight load-shedding limits so that a small, bounded flood trips them.
  readonly under_pressure?: UnderPressureOptions;
}

// Infrastructure first, the authorizer last: Fastify closes in reverse order, so the
// authorizer's in-flight work finishes before its clients close.
export async function buildAuthorizer(
  config: AuthorizerConfig,
  logger: Logger,
  overrides: AuthorizerOverrides = {},
): Promise<Service> {
  const app = await createService({
    name: 'authorizer',
    logger,
    body_limit_bytes: config.JIT_BODY_LIMIT_BYTES,
    under_pressure: { max_event_loop_delay_ms: config.SHED_EVENT_LOOP_DELAY_MS, ...overrides.under_pressure },
  });
  await registerInfrastructure(app, config, {
    name: 'authorizer',
    readiness_critical: {
      // Decisions go on from Redis while the data of record is away (only misses need it).
      postgres: false,
      personal_store: false,
      redis: true,
      // Decisions go on while RabbitMQ is down; events wait in the outbox.
      amqp: false,
    },
    // The hot path never waits on retries: the decision deadline is the bound.
    // A decision we answered must not run late after an outage; the release by JIT token
    // (and the tombstone it leaves) covers a script that ran before the drop.
    redis: { max_retries_per_request: 1, resend_unanswered: false },
    topology: overrides.topology,
  });
  await app.register(authorizerApp, {
    credentials: {
      username: config.JIT_BASIC_USERNAME,
      password: config.JIT_BASIC_PASSWORD,
      ...(config.JIT_CUSTOM_HEADER_NAME === undefined || config.JIT_CUSTOM_HEADER_VALUE === undefined
        ? {}
        : { custom_header: { name: config.JIT_CUSTOM_HEADER_NAME, value: config.JIT_CUSTOM_HEADER_VALUE } }),
    },
    decision_deadline_ms: config.DECISION_DEADLINE_MS,
    partitions: config.REDIS_PARTITIONS,
    refund_mode: config.REFUND_BUSINESS_MODE,
    relay_batch_size: config.OUTBOX_RELAY_BATCH,
    outbox_max_events: config.OUTBOX_MAX_EVENTS_PER_PARTITION,
    publish_timeout_ms: config.AMQP_CONFIRM_TIMEOUT_MS,
    redis_clock_check_interval_ms: config.REDIS_CLOCK_CHECK_INTERVAL_MS,
    redis_clock_skew_max_ms: config.REDIS_CLOCK_SKEW_MAX_MS,
  });
  return app;
}
