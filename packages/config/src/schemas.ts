import { type Static, Type } from '@sinclair/typebox';
import {
  amqpProperties,
  apiProperties,
  authorizerProperties,
  httpProperties,
  loadSheddingProperties,
  logProperties,
  marqetaProperties,
  mongoProperties,
  postgresProperties,
  redisProperties,
  settlementProperties,
  webhooksProperties,
} from './fragments.ts';

// The hot path answers within DECISION_DEADLINE_MS: a slow Redis command must fail fast there,
// while background services can afford to wait longer.
const hot_path_redis_timeout_ms = 100;
const background_redis_timeout_ms = 1_000;

export const authorizerConfigSchema = Type.Object({
  ...httpProperties(3001),
  ...loadSheddingProperties(),
  ...redisProperties(hot_path_redis_timeout_ms),
  ...amqpProperties(),
  ...postgresProperties(),
  ...mongoProperties(),
  ...authorizerProperties(),
});

export const webhooksConfigSchema = Type.Object({
  ...httpProperties(3002),
  ...loadSheddingProperties(),
  ...amqpProperties(),
  ...redisProperties(background_redis_timeout_ms),
  ...postgresProperties(),
  ...mongoProperties(),
  ...webhooksProperties(),
});

export const settlementConfigSchema = Type.Object({
  ...httpProperties(3003),
  ...loadSheddingProperties(),
  ...amqpProperties(),
  ...redisProperties(background_redis_timeout_ms),
  ...postgresProperties(),
  ...mongoProperties(),
  ...settlementProperties(),
});

export const cardIssuerConfigSchema = Type.Object({
  ...httpProperties(3004),
  ...loadSheddingProperties(),
  ...amqpProperties(),
  ...redisProperties(background_redis_timeout_ms),
  ...postgresProperties(),
  ...mongoProperties(),
  ...marqetaProperties(),
});

export const apiConfigSchema = Type.Object({
  ...httpProperties(3000),
  ...loadSheddingProperties(),
  ...amqpProperties(),
  ...redisProperties(background_redis_timeout_ms),
  ...postgresProperties(),
  ...mongoProperties(),
  ...marqetaProperties(),
  ...apiProperties(),
});

// The simulator learns the gateway and webhook targets through its own API, as Marqeta does.
export const marqetaSimConfigSchema = Type.Object({ ...httpProperties(4010) });

export const migrateConfigSchema = Type.Object({ ...postgresProperties(), ...logProperties() });

export type AuthorizerConfig = Static<typeof authorizerConfigSchema>;
export type WebhooksConfig = Static<typeof webhooksConfigSchema>;
export type SettlementConfig = Static<typeof settlementConfigSchema>;
export type CardIssuerConfig = Static<typeof cardIssuerConfigSchema>;
export type ApiConfig = Static<typeof apiConfigSchema>;
export type MarqetaSimConfig = Static<typeof marqetaSimConfigSchema>;
export type MigrateConfig = Static<typeof migrateConfigSchema>;

// Every process and its schema, keyed by the name used in messages and in the README table.
export const service_config_schemas = {
  api: apiConfigSchema,
  authorizer: authorizerConfigSchema,
  'card-issuer': cardIssuerConfigSchema,
  'marqeta-sim': marqetaSimConfigSchema,
  migrate: migrateConfigSchema,
  settlement: settlementConfigSchema,
  webhooks: webhooksConfigSchema,
} as const;
