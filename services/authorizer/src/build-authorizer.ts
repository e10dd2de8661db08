import type { AuthorizerConfig } from '@afc/config';
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
import { authorizerApp } from './app.ts';

// Infrastructure first, the authorizer last: Fastify closes in reverse order, so the
// authorizer's in-flight work finishes before its clients close.
export async function buildAuthorizer(config: AuthorizerConfig, logger: Logger): Promise<Service> {
  const app = await createService({
    name: 'authorizer',
    logger,
    body_limit_bytes: config.JIT_BODY_LIMIT_BYTES,
  });
  await app.register(postgresPlugin, {
    postgres: postgresOptions(config, 'authorizer'),
    connect_attempts: config.PG_CONNECT_ATTEMPTS,
    migrate: true,
    // Decisions go on from Redis while the data of record is away (only misses need it).
    readiness_critical: false,
    close_timeout_ms: 5_000,
  });
  await app.register(personalStorePlugin, {
    mongodb_uri: config.MONGODB_URI,
    mongodb_db: config.MONGODB_DB,
    readiness_critical: false,
  });
  await app.register(redisPlugin, {
    // The hot path never waits on retries: the decision deadline is the bound.
    // A decision we answered must not run late after an outage; the release by JIT token
    // (and the tombstone it leaves) covers a script that ran before the drop.
    // Auto-pipelining: concurrent decisions' scripts leave in one socket write per tick.
    redis: redisOptions(config, 'authorizer', {
      max_retries_per_request: 1,
      resend_unanswered: false,
      enable_auto_pipelining: true,
    }),
    ready_timeout_ms: 10_000,
    readiness_critical: true,
    close_timeout_ms: 2_000,
  });
  await app.register(amqpPlugin, {
    amqp: amqpOptions(config, 'authorizer'),
    start_timeout_ms: 5_000,
    // Decisions go on while RabbitMQ is down; events wait in the outbox.
    required_at_start: false,
    readiness_critical: false,
    close_timeout_ms: 5_000,
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
    publish_timeout_ms: config.AMQP_CONFIRM_TIMEOUT_MS,
  });
  return app;
}
