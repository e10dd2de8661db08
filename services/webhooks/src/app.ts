import { queue_names } from '@afc/amqp';
import { createCardState } from '@afc/card-state';
import type { Logger } from '@afc/log';
import { type Service, startPeriodicTask } from '@afc/service-kit';
import fp from 'fastify-plugin';
import { pruneTransitionLog } from './consumer/transition-log-pruning.ts';
import { createWebhookEventsHandler } from './consumer/webhook-events-handler.ts';
import { createConsumerMetrics, createWebhookMetrics } from './metrics.ts';
import type { BasicCredentials } from './receiver/basic-auth.ts';
import type { SignatureAlgorithm } from './receiver/signature.ts';
import { webhookRoute } from './routes/webhook-route.ts';

export interface WebhooksOptions {
  readonly credentials: BasicCredentials;
  readonly signature: { readonly secret: string; readonly algorithm: SignatureAlgorithm };
  readonly body_limit_bytes: number;
  readonly publish_timeout_ms: number;
  readonly retry_after_s: number;
  // The webhook-events consumer; absent: the receiver alone (its tests read the queue).
  readonly consumer?: {
    readonly partitions: number;
    readonly prefetch_count: number;
    readonly handler_timeout_ms: number;
    // Bounds the wait for in-flight events at shutdown (they are redelivered past it).
    readonly drain_timeout_ms: number;
    // marqeta_transitions pruning: every interval (jittered), `batch` rows at a time.
    readonly pruning: { readonly keep_days: number; readonly interval_ms: number; readonly batch: number };
  };
}

// The receiver and the webhook-events consumer, on the infrastructure plugins registered before
// them (so those close after: a request in flight still gets its confirms, an event in flight
// still has its pool).
export const webhooksApp = fp<WebhooksOptions>(
  async (app, options) => {
    const service = app as Service;
    const metrics = createWebhookMetrics(service.metrics.registry);
    await webhookRoute(service, { ...options, amqp: app.amqp, metrics });
    if (options.consumer === undefined) return;
    const { consumer } = options;
    const logger = app.log as Logger;
    const card_state = await createCardState({
      redis: app.redis,
      partitions: consumer.partitions,
      // Only the decision scripts read it; the consumer writes documents.
      refund_mode: 'counters_unchanged',
      logger,
    });
    const { consumed } = createConsumerMetrics(service.metrics.registry);
    const handler = createWebhookEventsHandler({
      postgres: app.postgres,
      sources: { sql: app.postgres.sql, personal_store: app.personalStore },
      card_state,
      on_outcome: (type, outcome) => consumed.inc({ type, outcome }),
    });
    await app.amqp.consume(queue_names.webhook_events, handler, {
      prefetch_count: consumer.prefetch_count,
      handler_timeout_ms: consumer.handler_timeout_ms,
    });
    const { pruning } = consumer;
    const pruner = startPeriodicTask({
      name: 'webhooks.transitions_prune',
      interval_ms: pruning.interval_ms,
      jitter_ratio: 0.2,
      logger,
      run: async () => {
        const deleted = await pruneTransitionLog(app.postgres.sql, pruning);
        if (deleted > 0)
          logger.info({ event: 'webhooks.transitions_pruned', deleted }, 'old transitions pruned');
        return { again: deleted === pruning.batch };
      },
    });
    // Before the AMQP, Redis and PostgreSQL plugins close: in-flight events finish on open clients.
    app.addHook('onClose', async () => {
      await pruner.stop(5_000);
      const report = await app.amqp.close(consumer.drain_timeout_ms);
      logger.info({ event: 'webhooks.drained', ...report }, 'consumers drained');
    });
  },
  {
    name: 'webhooks',
    dependencies: [
      'afc-readiness',
      'afc-metrics',
      'afc-postgres',
      'afc-personal-store',
      'afc-redis',
      'afc-amqp',
    ],
  },
);
