import { product_topology, type TopologyDescription } from '@afc/amqp';
import type { SettlementConfig } from '@afc/config';
import type { Logger } from '@afc/log';
import {
  amqpOptions,
  amqpPlugin,
  createService,
  postgresOptions,
  postgresPlugin,
  type Service,
} from '@afc/service-kit';
import { settlementApp } from './app.ts';

export interface BuildOverrides {
  // Tests declare only the queue they read (quorum queues are costly on a shared broker).
  readonly topology?: TopologyDescription;
}

// Infrastructure first, the consumer last: Fastify closes in reverse order, so in-flight events
// finish before the pool closes.
export async function buildSettlement(
  config: SettlementConfig,
  logger: Logger,
  overrides: BuildOverrides = {},
): Promise<Service> {
  const app = await createService({ name: 'settlement', logger, body_limit_bytes: 16_384 });
  await app.register(postgresPlugin, {
    postgres: postgresOptions(config, 'settlement'),
    connect_attempts: config.PG_CONNECT_ATTEMPTS,
    migrate: true,
    readiness_critical: true,
    close_timeout_ms: 5_000,
  });
  await app.register(amqpPlugin, {
    amqp: amqpOptions(config, 'settlement', overrides.topology ?? product_topology),
    start_timeout_ms: 5_000,
    // Without the broker there is no work: reconnects in the background, reported not ready.
    required_at_start: false,
    readiness_critical: true,
    close_timeout_ms: 5_000,
  });
  await app.register(settlementApp, {
    hold_expiry_ms: config.HOLD_EXPIRY_HOURS * 3_600_000,
    prefetch_count: config.AMQP_PREFETCH,
    // A few statements in one transaction, each under the pool's statement timeout.
    handler_timeout_ms: 30_000,
    drain_timeout_ms: 5_000,
  });
  return app;
}
