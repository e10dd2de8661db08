import { queue_names } from '@afc/amqp';
import type { Logger } from '@afc/log';
import type { Service } from '@afc/service-kit';
import fp from 'fastify-plugin';
import { Counter } from 'prom-client';
import { createEventHandler } from './handle-event.ts';

export interface SettlementOptions {
  readonly hold_expiry_ms: number;
  readonly prefetch_count: number;
  readonly handler_timeout_ms: number;
  // Bounds the wait for in-flight events at shutdown (they are redelivered past it).
  readonly drain_timeout_ms: number;
}

// Settlement: one consumer of the settlement queue, on the infrastructure plugins registered
// before it. Health, readiness and metrics come from the service kit.
export const settlementApp = fp<SettlementOptions>(
  async (app, options) => {
    const service = app as Service;
    const logger = app.log as Logger;
    const outcomes = new Counter({
      name: 'afc_settlement_events_total',
      help: 'Authorizer events settled, by outcome.',
      labelNames: ['outcome'],
      registers: [service.metrics.registry],
    });
    const handler = createEventHandler({
      postgres: app.postgres,
      hold_expiry_ms: options.hold_expiry_ms,
      on_outcome: (outcome) => outcomes.inc({ outcome }),
    });
    await app.amqp.consume(queue_names.settlement, handler, {
      prefetch_count: options.prefetch_count,
      handler_timeout_ms: options.handler_timeout_ms,
    });
    // Before the AMQP and PostgreSQL plugins close: in-flight events finish on an open pool.
    app.addHook('onClose', async () => {
      const report = await app.amqp.close(options.drain_timeout_ms);
      logger.info({ event: 'settlement.drained', ...report }, 'consumers drained');
    });
  },
  { name: 'settlement', dependencies: ['afc-readiness', 'afc-metrics', 'afc-amqp', 'afc-postgres'] },
);
