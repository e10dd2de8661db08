import { queue_names } from '@afc/amqp';
import { createCardState } from '@afc/card-state';
import type { RefundMode } from '@afc/domain';
import type { Logger } from '@afc/log';
import type { Service } from '@afc/service-kit';
import fp from 'fastify-plugin';
import { Counter } from 'prom-client';
import { startHoldExpiry } from './expiry/wire-expiry.ts';
import { createEventHandler } from './handle-event.ts';

export interface SettlementOptions {
  readonly hold_expiry_ms: number;
  readonly prefetch_count: number;
  readonly handler_timeout_ms: number;
  // Bounds the wait for in-flight events at shutdown (they are redelivered past it).
  readonly drain_timeout_ms: number;
  // Expiry sweep: 0 runs none in this process.
  readonly hold_expiry_sweep_interval_ms: number;
  readonly hold_expiry_sweep_batch: number;
  readonly partitions: number;
  readonly refund_mode: RefundMode;
}

// Settlement: one consumer of the settlement queue, on the infrastructure plugins registered
// before it. Health, readiness and metrics come from the service kit.
export const settlementApp = fp<SettlementOptions>(
  async (app, options) => {
    const service = app as Service;
    const logger = app.log as Logger;
    const outcomes = new Counter({
      name: 'afc_settlement_events_total',
      help: 'Authorizer events and transaction webhooks settled, by outcome.',
      labelNames: ['outcome'],
      registers: [service.metrics.registry],
    });
    // releaseAfterTimeout (Marqeta declined after our approval) and apply (what only Marqeta
    // reported), with the authorizer's refund mode.
    const card_state = await createCardState({
      redis: app.redis,
      partitions: options.partitions,
      refund_mode: options.refund_mode,
      logger,
    });
    const handler = createEventHandler({
      postgres: app.postgres,
      personal_store: app.personalStore,
      card_state,
      hold_expiry_ms: options.hold_expiry_ms,
      on_outcome: (outcome) => outcomes.inc({ outcome }),
    });
    await app.amqp.consume(queue_names.settlement, handler, {
      prefetch_count: options.prefetch_count,
      handler_timeout_ms: options.handler_timeout_ms,
    });
    const expiry = await startHoldExpiry(service, options);
    // Before the AMQP and PostgreSQL plugins close: in-flight events finish on an open pool.
    app.addHook('onClose', async () => {
      await expiry.stop(5_000);
      const report = await app.amqp.close(options.drain_timeout_ms);
      logger.info({ event: 'settlement.drained', ...report }, 'consumers drained');
    });
  },
  {
    name: 'settlement',
    dependencies: [
      'afc-readiness',
      'afc-metrics',
      'afc-amqp',
      'afc-postgres',
      'afc-redis',
      'afc-personal-store',
    ],
  },
);
