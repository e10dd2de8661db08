import { product_topology } from '@afc/amqp';
import type { ApiConfig } from '@afc/config';
import type { Logger } from '@afc/log';
import {
  amqpPlugin,
  createService,
  personalStorePlugin,
  postgresPlugin,
  redisPlugin,
  type Service,
} from '@afc/service-kit';
import { apiApp } from './app.ts';

// Infrastructure first, the control plane last: Fastify closes in reverse order, so requests
// and the outbox publisher's last round finish before their clients close.
export async function buildApi(config: ApiConfig, logger: Logger): Promise<Service> {
  const app = await createService({ name: 'api', logger, body_limit_bytes: 65_536 });
  await app.register(postgresPlugin, {
    postgres: {
      url: config.DATABASE_URL,
      application_name: 'api',
      max_connections: config.PG_POOL_MAX,
      connect_timeout_ms: config.PG_CONNECT_TIMEOUT_MS,
      idle_timeout_ms: config.PG_IDLE_TIMEOUT_MS,
      statement_timeout_ms: config.PG_STATEMENT_TIMEOUT_MS,
      slow_query_ms: config.PG_SLOW_QUERY_MS,
    },
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
    redis: {
      ...(config.REDIS_CLUSTER_NODES === undefined
        ? { url: config.REDIS_URL }
        : { cluster_nodes: config.REDIS_CLUSTER_NODES.split(',').map((node) => `redis://${node.trim()}`) }),
      key_prefix: config.REDIS_KEY_PREFIX,
      command_timeout_ms: config.REDIS_COMMAND_TIMEOUT_MS,
      max_retries_per_request: 2,
      connect_timeout_ms: 2_000,
      connection_name: 'api',
    },
    ready_timeout_ms: 10_000,
    // Write-through and rate limits need it.
    readiness_critical: true,
    close_timeout_ms: 2_000,
  });
  await app.register(amqpPlugin, {
    amqp: {
      url: config.AMQP_URL,
      connection_name: 'api',
      topology: {
        ...product_topology,
        ...(config.AMQP_NAMESPACE === '' ? {} : { namespace: config.AMQP_NAMESPACE }),
      },
      confirm_timeout_ms: config.AMQP_CONFIRM_TIMEOUT_MS,
      max_unconfirmed: config.AMQP_MAX_UNCONFIRMED,
    },
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
  });
  return app;
}
