import { product_topology, type TopologyDescription } from '@afc/amqp';
import type { PostgresOptions } from '@afc/postgres';
import type { CreateRedisOptions } from '@afc/redis';
import type { AmqpPluginOptions } from './amqp-plugin.ts';

// The environment variables of @afc/config's shared fragments that the infrastructure plugins
// read. Every service config has them; one mapping keeps the services from repeating it.
export interface PostgresEnvironment {
  readonly DATABASE_URL: string;
  readonly PG_POOL_MAX: number;
  readonly PG_CONNECT_TIMEOUT_MS: number;
  readonly PG_IDLE_TIMEOUT_MS: number;
  readonly PG_STATEMENT_TIMEOUT_MS: number;
  readonly PG_SLOW_QUERY_MS: number;
}

export interface RedisEnvironment {
  readonly REDIS_URL: string;
  readonly REDIS_CLUSTER_NODES?: string | undefined;
  readonly REDIS_KEY_PREFIX: string;
  readonly REDIS_COMMAND_TIMEOUT_MS: number;
}

export interface AmqpEnvironment {
  readonly AMQP_URL: string;
  readonly AMQP_NAMESPACE: string;
  readonly AMQP_CONFIRM_TIMEOUT_MS: number;
  readonly AMQP_MAX_UNCONFIRMED: number;
}

export function postgresOptions(config: PostgresEnvironment, application_name: string): PostgresOptions {
  return {
    url: config.DATABASE_URL,
    application_name,
    max_connections: config.PG_POOL_MAX,
    connect_timeout_ms: config.PG_CONNECT_TIMEOUT_MS,
    idle_timeout_ms: config.PG_IDLE_TIMEOUT_MS,
    statement_timeout_ms: config.PG_STATEMENT_TIMEOUT_MS,
    slow_query_ms: config.PG_SLOW_QUERY_MS,
  };
}

// Retries per request and resending are the caller's choice: the hot path allows neither.
export function redisOptions(
  config: RedisEnvironment,
  connection_name: string,
  behaviour: Pick<CreateRedisOptions, 'max_retries_per_request' | 'resend_unanswered'>,
): CreateRedisOptions {
  const target =
    config.REDIS_CLUSTER_NODES === undefined || config.REDIS_CLUSTER_NODES === ''
      ? { url: config.REDIS_URL }
      : { cluster_nodes: config.REDIS_CLUSTER_NODES.split(',').map((node) => `redis://${node.trim()}`) };
  return {
    ...target,
    key_prefix: config.REDIS_KEY_PREFIX,
    command_timeout_ms: config.REDIS_COMMAND_TIMEOUT_MS,
    connect_timeout_ms: 2_000,
    connection_name,
    ...behaviour,
  };
}

export function amqpOptions(
  config: AmqpEnvironment,
  connection_name: string,
  topology: TopologyDescription = product_topology,
): AmqpPluginOptions['amqp'] {
  return {
    url: config.AMQP_URL,
    connection_name,
    topology: { ...topology, ...(config.AMQP_NAMESPACE === '' ? {} : { namespace: config.AMQP_NAMESPACE }) },
    confirm_timeout_ms: config.AMQP_CONFIRM_TIMEOUT_MS,
    max_unconfirmed: config.AMQP_MAX_UNCONFIRMED,
  };
}
