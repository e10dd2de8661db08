import { queue_names } from '@afc/amqp';
import { type CardStateStore, createCardState } from '@afc/card-state';
import type { Logger } from '@afc/log';
import { MarqetaClient, type MarqetaClientOptions } from '@afc/marqeta';
import type { Service } from '@afc/service-kit';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import type { FastifyError } from 'fastify';
import fp from 'fastify-plugin';
import { hashKey, KeyAuthenticator, type Principal, presentedKey } from './auth/api-keys.ts';
import { createCardEventsHandler } from './lifecycle/card-lifecycle.ts';
import { type ApiMetrics, createApiMetrics } from './metrics.ts';
import { OutboxPublisher } from './outbox/outbox-publisher.ts';
import { PersonalIssueSweep } from './outbox/personal-issue-sweep.ts';
import { cardEventRoutes } from './routes/card-event-routes.ts';
import { cardRoutes } from './routes/card-routes.ts';
import { companyRoutes } from './routes/company-routes.ts';
import { controlsRoutes } from './routes/controls-routes.ts';
import { personalRoutes } from './routes/personal-routes.ts';
import { personalTransactionRoutes } from './routes/personal-transaction-routes.ts';
import { personalWalletRoutes } from './routes/personal-wallet-routes.ts';
import { transactionRoutes } from './routes/transaction-routes.ts';
import { personalTransitionRoutes, transitionRoutes } from './routes/transition-routes.ts';
import { userRoutes } from './routes/user-routes.ts';
import type { CardLockOptions } from './transitions/card-lock.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined;
  }
  interface FastifyInstance {
    api: RouteContext;
  }
}

export interface ApiOptions {
  readonly admin_key: string;
  readonly rate_limit_per_minute: number;
  readonly partitions: number;
  readonly outbox_batch_size: number;
  readonly publish_timeout_ms: number;
  readonly marqeta: Omit<MarqetaClientOptions, 'logger' | 'metrics_registry'>;
  // Re-sending issue commands of personal cards stuck 'unactivated' (see PersonalIssueSweep).
  readonly personal_issue_sweep: { readonly stuck_after_ms: number; readonly interval_ms: number };
  // The card-events consumer (card.issued / card.issue.failed into the lifecycle history).
  readonly card_events: {
    readonly prefetch_count: number;
    readonly handler_timeout_ms: number;
    // Bounds the wait for in-flight events at shutdown (they are redelivered past it).
    readonly drain_timeout_ms: number;
  };
}

export interface RouteContext {
  readonly card_state: CardStateStore;
  readonly outbox: OutboxPublisher;
  readonly personal_issue_sweep: PersonalIssueSweep;
  readonly marqeta: MarqetaClient;
  readonly card_lock: CardLockOptions;
}

function registerDocumentation(app: Service): Promise<void> {
  app.get('/documentation/json', { schema: { hide: true } }, async () => app.swagger());
  return Promise.resolve();
}

// Bodies are validated without coercion by the service kit; here a body that is not JSON
// names the body like every other 400 of the API.
function namedBodyParseErrors(scope: Service): void {
  // A body that is not JSON names the body; every other error goes to the kit's handler.
  scope.setErrorHandler<FastifyError>((error, _request, reply) => {
    if (error.code?.startsWith('FST_ERR_CTP_') && error.statusCode === 400) {
      return reply
        .code(400)
        .send({ error: 'bad_request', message: `invalid body: ${error.message}`, fields: ['body'] });
    }
    throw error;
  });
}

// Rate limit first (unauthenticated guessing is limited too), then the key. Counters live in
// Redis so every API instance shares them; they are keyed by the key's hash, never the key.
async function protectedScope(scope: Service, options: ApiOptions, context: RouteContext): Promise<void> {
  await scope.register(rateLimit, {
    global: true,
    max: options.rate_limit_per_minute,
    timeWindow: 60_000,
    redis: scope.redis,
    nameSpace: 'api-rate-limit:',
    skipOnError: false,
    hook: 'onRequest',
    keyGenerator: (request) => {
      const key = presentedKey(request.headers.authorization, request.headers['x-api-key']);
      return key === undefined ? `ip:${request.ip}` : `key:${hashKey(key)}`;
    },
  });
  namedBodyParseErrors(scope);
  const authenticator = new KeyAuthenticator(scope.postgres.sql, options.admin_key);
  scope.decorateRequest('principal', undefined);
  scope.addHook('onRequest', async (request, reply) => {
    const key = presentedKey(request.headers.authorization, request.headers['x-api-key']);
    const principal = key === undefined ? undefined : await authenticator.authenticate(key);
    if (principal === undefined) {
      reply.header('www-authenticate', 'Bearer realm="api"');
      return reply.code(401).send({ error: 'unauthorized', message: 'a valid API key is required' });
    }
    request.principal = principal;
    request.log = request.log.child({ key_prefix: principal.key_prefix });
    return undefined;
  });
  await companyRoutes(scope);
  await userRoutes(scope);
  await cardRoutes(scope, context);
  await controlsRoutes(scope, context);
  await transactionRoutes(scope);
  await cardEventRoutes(scope);
  await transitionRoutes(scope, context);
  await personalRoutes(scope, context);
  await personalWalletRoutes(scope, context);
  await personalTransitionRoutes(scope, context);
  await personalTransactionRoutes(scope);
}

// card.issued / card.issue.failed from the card-issuer into each card's lifecycle history.
// Registered now, started by the AMQP client once connected (it may start without the broker).
// Each outcome is logged (api.card_event) and counted; the queue's depth and parked messages are
// the AMQP client's metrics.
async function consumeCardEvents(service: Service, options: ApiOptions, metrics: ApiMetrics): Promise<void> {
  const handler = createCardEventsHandler({
    sql: service.postgres.sql,
    on_outcome: (type, outcome) => metrics.card_events.inc({ type, outcome }),
  });
  await service.amqp.consume(queue_names.card_events, handler, {
    prefetch_count: options.card_events.prefetch_count,
    handler_timeout_ms: options.card_events.handler_timeout_ms,
  });
}

// The control plane on the infrastructure plugins registered before it.
export const apiApp = fp<ApiOptions>(
  async (app, options) => {
    const service = app as Service;
    const logger = app.log as Logger;
    const card_state = await createCardState({
      redis: service.redis,
      partitions: options.partitions,
      // The API never applies refunds; the option only matters to the decision scripts.
      refund_mode: 'counters_unchanged',
      logger,
    });
    const outbox = new OutboxPublisher({
      sql: service.postgres.sql,
      amqp: service.amqp,
      logger: logger.child({ component: 'outbox-publisher' }),
      batch_size: options.outbox_batch_size,
      publish_timeout_ms: options.publish_timeout_ms,
      idle_ms: 1_000,
      failure_backoff_min_ms: 100,
      failure_backoff_max_ms: 10_000,
      row_backoff_max_ms: 300_000,
      // About an hour of attempts (1 s doubling to 5 min): longer than a broker restart or a
      // deployment of the queues takes, and a refusal that outlasts it needs a person.
      max_refusals: 20,
    });
    const marqeta = new MarqetaClient({
      ...options.marqeta,
      logger,
      metrics_registry: service.metrics.registry,
    });
    const personal_issue_sweep = new PersonalIssueSweep({
      store: service.personalStore,
      sql: service.postgres.sql,
      logger: logger.child({ component: 'personal-issue-sweep' }),
      ...options.personal_issue_sweep,
      batch_size: 100,
      on_resent: () => outbox.wake(),
    });
    // The guarded work holds at most a transition and a card read at Marqeta, each of at most
    // max_attempts attempts and the delays between them, and a few short writes.
    const marqeta_bound_ms = 2 * marqeta.longest_call_ms + 5_000;
    const card_lock = { ttl_ms: marqeta_bound_ms, wait_timeout_ms: marqeta_bound_ms };
    const context: RouteContext = { card_state, outbox, personal_issue_sweep, marqeta, card_lock };
    app.decorate('api', context);
    await service.register(swagger, {
      openapi: {
        info: { title: 'Atlanticfrewaycard control plane', version: '1.0.0' },
        components: {
          securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'API key' } },
        },
      },
    });
    await service.register(registerDocumentation);
    await service.register(async (scope) => protectedScope(scope as Service, options, context));
    await consumeCardEvents(
      service,
      options,
      createApiMetrics(service.metrics.registry, service.postgres.sql),
    );
    app.addHook('onReady', async () => {
      outbox.start();
      // Only where a card and its command do not commit together (MongoDB).
      if (!service.personalStore.card_commits_with_postgres) personal_issue_sweep.start();
    });
    // After in-flight requests answered; what is not confirmed stays in the outbox for the next start.
    app.addHook('onClose', async () => {
      await personal_issue_sweep.stop(5_000);
      await outbox.stop(5_000);
      // Drains the card-events consumer while PostgreSQL is still open (close is idempotent; the
      // AMQP plugin's own close runs after).
      const report = await service.amqp.close(options.card_events.drain_timeout_ms);
      logger.info({ event: 'api.amqp_drained', ...report }, 'consumers drained');
      await marqeta.close();
    });
  },
  {
    name: 'api',
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
