import type { TopologyDescription } from '@afc/amqp';
import type { SettlementConfig } from '@afc/config';
import type { Logger } from '@afc/log';
import { createService, registerInfrastructure, type Service } from '@afc/service-kit';
import { settlementApp } from './app.ts';

export interface BuildOverrides {
  // Tests declare only the queue they read (quorum queues are costly on a shared broker).
  readonly topology?: TopologyDescription;
  // Drills: a cut pool can leave a query waiting until the handler times out, so an outage
  // parks an event only after max_attempts of it; a drill shortens it to stay short itself.
  readonly handler_timeout_ms?: number;
}

// Infrastructure first, the consumer last: Fastify closes in reverse order, so in-flight events
// finish before the pool closes.
export async function buildSettlement(
  config: SettlementConfig,
  logger: Logger,
  overrides: BuildOverrides = {},
): Promise<Service> {
  const app = await createService({
    name: 'settlement',
    logger,
    body_limit_bytes: 16_384,
    under_pressure: { max_event_loop_delay_ms: config.SHED_EVENT_LOOP_DELAY_MS },
  });
  // The personal program's ledger: MongoDB when MONGODB_URI is set, else PostgreSQL's twin.
  await registerInfrastructure(app, config, {
    name: 'settlement',
    // Without the broker there is no work: reconnects in the background, reported not ready.
    readiness_critical: { postgres: true, personal_store: true, redis: true, amqp: true },
    // Hold expiry and repairs move real-time state: a failed call fails the attempt, retried.
    redis: { max_retries_per_request: 2 },
    topology: overrides.topology,
  });
  await app.register(settlementApp, {
    hold_expiry_ms: config.HOLD_EXPIRY_HOURS * 3_600_000,
    prefetch_count: config.AMQP_PREFETCH,
    // A few statements in one transaction, each under the pool's statement timeout.
    handler_timeout_ms: overrides.handler_timeout_ms ?? 30_000,
    drain_timeout_ms: 5_000,
    hold_expiry_sweep_interval_ms: config.HOLD_EXPIRY_SWEEP_INTERVAL_MS,
    hold_expiry_sweep_batch: config.HOLD_EXPIRY_SWEEP_BATCH,
    partitions: config.REDIS_PARTITIONS,
    refund_mode: config.REFUND_BUSINESS_MODE,
  });
  return app;
}
