import { queue_names } from '@afc/amqp';
import { createCardState } from '@afc/card-state';
import type { Logger } from '@afc/log';
import { MarqetaClient, type MarqetaClientOptions } from '@afc/marqeta';
import type { Service } from '@afc/service-kit';
import fp from 'fastify-plugin';
import { Counter } from 'prom-client';
import { createCardRecords } from './card-records.ts';
import { createIssueCardHandler } from './issue-card.ts';

export interface CardIssuerOptions {
  readonly marqeta: Omit<MarqetaClientOptions, 'logger' | 'metrics_registry'>;
  readonly partitions: number;
  readonly prefetch_count: number;
  readonly handler_timeout_ms: number;
  // Bounds the broker's confirm of each card.issued / card.issue.failed.
  readonly publish_timeout_ms: number;
  // Bounds the wait for in-flight issuances at shutdown (they are redelivered past it).
  readonly drain_timeout_ms: number;
}

// The card issuer: one consumer of the card-issuance queue, on the infrastructure plugins
// registered before it. Health, readiness and metrics come from the service kit.
export const cardIssuerApp = fp<CardIssuerOptions>(
  async (app, options) => {
    const service = app as Service;
    const logger = app.log as Logger;
    const marqeta = new MarqetaClient({
      ...options.marqeta,
      logger,
      metrics_registry: service.metrics.registry,
    });
    const card_state = await createCardState({
      redis: app.redis,
      partitions: options.partitions,
      // Only the decision scripts read it; the issuer writes documents.
      refund_mode: 'counters_unchanged',
      logger,
    });
    const outcomes = new Counter({
      name: 'afc_card_issuer_outcomes_total',
      help: 'Card-issue command deliveries by outcome.',
      labelNames: ['outcome'],
      registers: [service.metrics.registry],
    });
    const queue = app.amqp.topology.queues.get(queue_names.card_issuance);
    if (queue === undefined) throw new Error('the AMQP topology has no card-issuance queue');
    const handler = createIssueCardHandler({
      records: createCardRecords(app.postgres.sql, app.personalStore),
      sources: { sql: app.postgres.sql, personal_store: app.personalStore },
      card_state,
      marqeta,
      amqp: app.amqp,
      publish_timeout_ms: options.publish_timeout_ms,
      max_attempts: queue.max_attempts,
      on_outcome: (outcome) => outcomes.inc({ outcome }),
    });
    await app.amqp.consume(queue_names.card_issuance, handler, {
      prefetch_count: options.prefetch_count,
      handler_timeout_ms: options.handler_timeout_ms,
    });
    // Runs before the AMQP plugin's own close: draining the consumers here (close is idempotent)
    // lets in-flight issuances finish with a Marqeta client that is still open.
    app.addHook('onClose', async () => {
      const report = await app.amqp.close(options.drain_timeout_ms);
      logger.info({ event: 'card_issuer.drained', ...report }, 'consumers drained');
      await marqeta.close();
    });
  },
  {
    name: 'card-issuer',
    dependencies: [
      'afc-readiness',
      'afc-metrics',
      'afc-redis',
      'afc-amqp',
      'afc-postgres',
      'afc-personal-store',
    ],
  },
);
