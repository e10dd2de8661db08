import type { TopologyDescription } from '@afc/amqp';
import type { WebhooksConfig } from '@afc/config';
import type { Logger } from '@afc/log';
import { createService, registerInfrastructure, type Service } from '@afc/service-kit';
import { webhooksApp } from './app.ts';

export interface BuildOverrides {
  // Tests declare only the queues they use (quorum queues are costly on a shared broker) and
  // shorten the retry delays.
  readonly topology?: TopologyDescription;
  // false: the receiver without the webhook-events consumer (the receiver's tests read the queue).
  readonly consumer?: boolean;
}

// PostgreSQL and a transaction of ours hold one connection while the personal store (its
// PostgreSQL twin on the same pool) takes a second: at most half the pool in flight, so handlers
// never all wait for a connection another handler holds.
function consumerPrefetch(config: WebhooksConfig): number {
  return Math.max(1, Math.min(config.AMQP_PREFETCH, Math.floor(config.PG_POOL_MAX / 2)));
}

// A connection (a pool whose server went away can leave a query waiting for one), a statement
// (the slowest of a few short ones, under the server's statement timeout), the write-through's
// Redis commands (pipelined, each under its timeout). Past it the attempt fails and is retried.
function consumerHandlerTimeout(config: WebhooksConfig): number {
  return config.PG_CONNECT_TIMEOUT_MS + config.PG_STATEMENT_TIMEOUT_MS + 2 * config.REDIS_COMMAND_TIMEOUT_MS;
}

// Infrastructure first, the receiver and consumer last, since Fastify closes in reverse order.
// The receiver needs only the broker: PostgreSQL and Redis are the consumer's, and not critical
// for readiness, so that Marqeta's deliveries go on being accepted (and queued) while the data
// of record is down; the consumer retries, then parks.
export async function buildWebhooks(
  config: WebhooksConfig,
  logger: Logger,
  overrides: BuildOverrides = {},
): Promise<Service> {
  const app = await createService({
    name: 'webhooks',
    logger,
    body_limit_bytes: config.WEBHOOK_BODY_LIMIT_BYTES,
    under_pressure: { max_event_loop_delay_ms: config.SHED_EVENT_LOOP_DELAY_MS },
  });
  await registerInfrastructure(app, config, {
    name: 'webhooks',
    // Starts without the broker and answers 503 (Marqeta retries) until connected; not ready meanwhile.
    readiness_critical: { postgres: false, personal_store: false, redis: false, amqp: true },
    // A failed write-through fails the attempt, which the queue retries.
    redis: { max_retries_per_request: 2 },
    topology: overrides.topology,
    // A restart while they are away must not stop Marqeta's deliveries from being accepted.
    data_stores_required_at_start: false,
  });
  await app.register(webhooksApp, {
    credentials: { username: config.WEBHOOK_BASIC_USERNAME, password: config.WEBHOOK_BASIC_PASSWORD },
    signature: { secret: config.WEBHOOK_SIGNATURE_SECRET, algorithm: config.WEBHOOK_SIGNATURE_ALGORITHM },
    body_limit_bytes: config.WEBHOOK_BODY_LIMIT_BYTES,
    publish_timeout_ms: config.AMQP_CONFIRM_TIMEOUT_MS,
    retry_after_s: 4,
    ...(overrides.consumer === false
      ? {}
      : {
          consumer: {
            partitions: config.REDIS_PARTITIONS,
            prefetch_count: consumerPrefetch(config),
            handler_timeout_ms: consumerHandlerTimeout(config),
            drain_timeout_ms: 5_000,
            pruning: {
              keep_days: config.MARQETA_TRANSITIONS_KEEP_DAYS,
              interval_ms: 3_600_000,
              batch: 1_000,
            },
          },
        }),
  });
  return app;
}
