import os from 'node:os';
import { exchange_names } from '@afc/amqp';
import {
  type ApplyRequest,
  CardStateError,
  type CardStateStore,
  createCardState,
  type ReleaseRequest,
  writeCardRecord,
} from '@afc/card-state';
import type { RefundMode } from '@afc/domain';
import type { Logger } from '@afc/log';
import { closeRedis, duplicateRedis, outboxKey, waitReady } from '@afc/redis';
import type { PeriodicTask, Service } from '@afc/service-kit';
import fp from 'fastify-plugin';
import type { JitCredentials } from './jit/authenticate.ts';
import { BackgroundRetries } from './jit/background-retries.ts';
import { JitDecisionHandler } from './jit/jit-decision-handler.ts';
import { startRedisClockCheck } from './jit/redis-clock-check.ts';
import { createAuthorizerMetrics } from './metrics.ts';
import { OutboxRelay } from './outbox/outbox-relay.ts';
import { jitRoute } from './routes/jit-route.ts';
import { StateLoader } from './state/state-loader.ts';

declare module 'fastify' {
  interface FastifyInstance {
    authorizer: { readonly card_state: CardStateStore; readonly relay: OutboxRelay };
  }
}

export interface AuthorizerOptions {
  readonly credentials: JitCredentials;
  readonly decision_deadline_ms: number;
  readonly partitions: number;
  readonly refund_mode: RefundMode;
  readonly relay_batch_size: number;
  // Per partition stream: past it decisions are declined outbox_full (card-state).
  readonly outbox_max_events: number;
  readonly publish_timeout_ms: number;
  readonly redis_clock_check_interval_ms: number;
  readonly redis_clock_skew_max_ms: number;
}

function partitionKeys(partitions: number): string[] {
  return Array.from({ length: partitions }, (_unused, partition) => outboxKey(partition));
}

// The authorizer: the JIT route and the outbox relay, on the infrastructure plugins registered
// before it (so they close after it: in-flight decisions and the relay's last round still
// reach Redis and RabbitMQ).
export const authorizerApp = fp<AuthorizerOptions>(
  async (app, options) => {
    const service = app as Service;
    const logger = app.log as Logger;
    const card_state = await createCardState({
      redis: app.redis,
      partitions: options.partitions,
      refund_mode: options.refund_mode,
      outbox_max_events: options.outbox_max_events,
      logger,
      // Many decisions at once: their scripts leave in one write per turn, without waiting for
      // each other's replies (bench: 2.3 instead of 3.7 syscalls per decision here, 0.2
      // instead of 0.5 in Redis).
      coalesce_turn_writes: true,
    });
    // Its own connection: the relay's reads never queue in front of a decision's script.
    const relay_redis = duplicateRedis(app.redis, logger, 'authorizer-relay', 2_000);
    const relay = new OutboxRelay({
      redis: relay_redis,
      amqp: app.amqp,
      logger,
      stream_keys: partitionKeys(options.partitions),
      exchange: exchange_names.transactions,
      group: 'outbox-relay',
      consumer: `${os.hostname()}-${process.pid}`,
      batch_size: options.relay_batch_size,
      idle_min_ms: 5,
      idle_max_ms: 200,
      claim_idle_ms: 30_000,
      publish_timeout_ms: options.publish_timeout_ms,
      failure_backoff_max_ms: 2_000,
      // Each one is a bug's event that did not reach the books: a few are plenty to diagnose,
      // and a bug writing thousands must not grow Redis without end.
      dead_max_entries: 1_000,
    });
    const metrics = createAuthorizerMetrics(service.metrics.registry, {
      lengths: () => relay.lengths(),
      max_events_per_partition: options.outbox_max_events,
    });
    const background = {
      logger,
      // A request Redis rejected as invalid will be rejected again: never retried.
      retryable: (error: unknown) =>
        !(error instanceof CardStateError && error.code === 'AFC_CARD_STATE_INVALID'),
      max_pending: 10_000,
      max_attempts: 12,
      base_delay_ms: 50,
      max_delay_ms: 5_000,
    };
    const releases = new BackgroundRetries<ReleaseRequest>({
      ...background,
      name: 'timeout_release',
      work: async (request) => {
        const result = await card_state.releaseAfterTimeout(request);
        return result.status === 'released' ? result.action : result.status;
      },
      on_result: (result) => metrics.timeout_releases.inc({ result }),
    });
    const applies: BackgroundRetries<ApplyRequest> = new BackgroundRetries<ApplyRequest>({
      ...background,
      name: 'informative_apply',
      work: (request): Promise<string> => handler.applyLoading(request),
      on_result: (result) => metrics.background_applies.inc({ result }),
    });
    const loader = new StateLoader({
      sources: { sql: app.postgres.sql, personal_store: app.personalStore },
      writer: {
        writeRecord: (record) => writeCardRecord(card_state, record),
        writeUnknownCard: async (user_token, card_token, ttl_s) => {
          await card_state.writeUnknownCard(user_token, card_token, ttl_s);
        },
      },
      logger,
      max_concurrent_loads: 64,
      unknown_card_ttl_s: 60,
      unknown_answer_ttl_ms: 5_000,
      unknown_answers_max: 10_000,
    });
    const handler: JitDecisionHandler = new JitDecisionHandler({
      card_state,
      loader,
      metrics,
      releases,
      applies,
      decision_deadline_ms: options.decision_deadline_ms,
    });
    // Bound once: a label object per request would be built and hashed on the hot path.
    const response_stage = metrics.stage_seconds.labels({ stage: 'response' });
    await jitRoute(service, {
      credentials: options.credentials,
      handler,
      observe_response_seconds: (seconds) => response_stage.observe(seconds),
    });
    app.decorate('authorizer', { card_state, relay });
    let clock_check: PeriodicTask | undefined;
    app.addHook('onReady', async () => {
      await waitReady(relay_redis, 10_000);
      relay.start();
      // On the relay's connection: a background read, never queued in front of a decision.
      clock_check = await startRedisClockCheck({
        redis: relay_redis,
        logger,
        gauge: metrics.redis_clock_skew,
        skew_max_ms: options.redis_clock_skew_max_ms,
        interval_ms: options.redis_clock_check_interval_ms,
      });
    });
    // After the server stopped taking requests and in-flight ones answered: finish releases,
    // let the relay confirm its round, then the infrastructure plugins close.
    app.addHook('onClose', async () => {
      await Promise.all([releases.drain(2_000), applies.drain(2_000), clock_check?.stop(2_000)]);
      // Bounded well inside the shutdown deadline: what the relay has not confirmed stays in
      // the outbox and is moved after the next start (by any authorizer).
      await relay.stop(2_000);
      await closeRedis(relay_redis, 2_000);
    });
  },
  {
    name: 'authorizer',
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
