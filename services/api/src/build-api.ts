import type { ApiConfig } from '@afc/config';
import type { Logger } from '@afc/log';
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
import { apiApp } from './app.ts';

// Infrastructure first, the control plane last: Fastify closes in reverse order, so requests
// and the outbox publisher's last round finish before their clients close.
export async function buildApi(config: ApiConfig, logger: Logger): Promise<Service> {
  const app = await createService({ name: 'api', logger, body_limit_bytes: 65_536 });
  await app.register(postgresPlugin, {
    postgres: postgresOptions(config, 'api'),
    connect_attempts: config.PG_CONNECT_ATTEMPTS,
    migrate: true,
    // Every route reads or writes the data of record.
    readiness_critical: true,
    close_timeout_ms: 5_000,
  });
  await app.register(personalStorePlugin, {
    mongodb_uri: config.MONGODB_URI,
    mongodb_db: config.MONGODB_DB,
    readiness_critical: true,
  });
  await app.register(redisPlugin, {
    redis: redisOptions(config, 'api', { max_retries_per_request: 2 }),
    ready_timeout_ms: 10_000,
    // Write-through and rate limits need it.
    readiness_critical: true,
    close_timeout_ms: 2_000,
  });
  await app.register(amqpPlugin, {
    amqp: amqpOptions(config, 'api'),
    start_timeout_ms: 5_000,
    // Commands wait in the PostgreSQL outbox while RabbitMQ is away: the API keeps answering.
    required_at_start: false,
    readiness_critical: false,
    close_timeout_ms: 5_000,
  });
  await app.register(apiApp, {
    admin_key: config.API_ADMIN_KEY,
    rate_limit_per_minute: config.API_RATE_LIMIT_PER_MINUTE,
    partitions: config.REDIS_PARTITIONS,
    outbox_batch_size: 100,
    publish_timeout_ms: config.AMQP_CONFIRM_TIMEOUT_MS,
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
