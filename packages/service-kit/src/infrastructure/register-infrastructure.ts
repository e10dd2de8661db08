import type { TopologyDescription } from '@afc/amqp';
import type { CreateRedisOptions } from '@afc/redis';
import type { Service } from '../create-service.ts';
import { amqpPlugin } from './amqp-plugin.ts';
import {
  type AmqpEnvironment,
  amqpOptions,
  type PostgresEnvironment,
  postgresOptions,
  type RedisEnvironment,
  redisOptions,
} from './options-from-config.ts';
import { personalStorePlugin } from './personal-store-plugin.ts';
import { postgresPlugin } from './postgres-plugin.ts';
import { redisPlugin } from './redis-plugin.ts';

export interface InfrastructureEnvironment extends PostgresEnvironment, RedisEnvironment, AmqpEnvironment {
  readonly PG_CONNECT_ATTEMPTS: number;
  readonly MONGODB_URI?: string | undefined;
  readonly MONGODB_DB: string;
}

// What differs between services; everything else (timeouts, migrations, a broker that may come
// later) is the same for all of them and stays here.
export interface InfrastructureOptions {
  // The connection name each client shows its server.
  readonly name: string;
  // Which dependencies a service cannot answer without (readiness reports not ready without them).
  readonly readiness_critical: {
    readonly postgres: boolean;
    readonly personal_store: boolean;
    readonly redis: boolean;
    readonly amqp: boolean;
  };
  readonly redis: Pick<CreateRedisOptions, 'max_retries_per_request' | 'resend_unanswered'>;
  // Unset: the product topology.
  readonly topology?: TopologyDescription | undefined;
  // false: the service starts while PostgreSQL or Redis is away (a receiver that must accept
  // what it is sent whatever the data of record does). Default true.
  readonly data_stores_required_at_start?: boolean;
}

// PostgreSQL (migrated), the personal store on it, Redis, then RabbitMQ: Fastify closes in
// reverse order, so what a service registers after this closes before its clients do.
// The broker is never required at start: it reconnects in the background.
export async function registerInfrastructure(
  app: Service,
  config: InfrastructureEnvironment,
  options: InfrastructureOptions,
): Promise<void> {
  const critical = options.readiness_critical;
  const required = options.data_stores_required_at_start ?? true;
  await app.register(postgresPlugin, {
    postgres: postgresOptions(config, options.name),
    connect_attempts: config.PG_CONNECT_ATTEMPTS,
    migrate: true,
    readiness_critical: critical.postgres,
    close_timeout_ms: 5_000,
    required_at_start: required,
  });
  await app.register(personalStorePlugin, {
    mongodb_uri: config.MONGODB_URI,
    mongodb_db: config.MONGODB_DB,
    readiness_critical: critical.personal_store,
  });
  await app.register(redisPlugin, {
    redis: redisOptions(config, options.name, options.redis),
    // Not required: a short look, within Fastify's plugin start timeout with PostgreSQL's.
    ready_timeout_ms: required ? 10_000 : 2_000,
    readiness_critical: critical.redis,
    close_timeout_ms: 2_000,
    required_at_start: required,
  });
  await app.register(amqpPlugin, {
    amqp: amqpOptions(config, options.name, options.topology),
    start_timeout_ms: 5_000,
    required_at_start: false,
    readiness_critical: critical.amqp,
    close_timeout_ms: 5_000,
  });
}
