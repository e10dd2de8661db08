import { createLogger, type Logger } from '@afc/log';
import { type TypeBoxTypeProvider, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { Agent } from 'undici';
import { CardActivity } from './card-activity.ts';
import { cardsRoutes } from './cards-routes.ts';
import type { SimContext } from './context.ts';
import { fundingRoutes } from './funding-routes.ts';
import { basicAuthHook, coreFaultsHook, installErrorHandlers } from './http-hooks.ts';
import { type MarqetaSimOptions, mergeFaults, no_faults, resolveOptions, type SimFaults } from './options.ts';
import { SeededRandom } from './random.ts';
import { simRoutes } from './sim-routes.ts';
import { simulateRoutes } from './simulate-routes.ts';
import { SimState } from './state.ts';
import { usersRoutes } from './users-routes.ts';
import { WebhookDispatcher } from './webhook-dispatcher.ts';
import { webhookRoutes } from './webhook-routes.ts';

export interface WaitOptions {
  readonly timeout_ms?: number;
}

export interface MarqetaSim {
  readonly app: FastifyInstance;
  readonly state: SimState;
  readonly activity: CardActivity;
  readonly logger: Logger;
  faults(): SimFaults;
  setFaults(change: Partial<SimFaults>): SimFaults;
  // Resolves when no webhook is waiting, in flight or scheduled for a retry.
  idle(options?: WaitOptions): Promise<void>;
  // Runs scheduled webhook retries now, then waits for idle.
  flushWebhooks(options?: WaitOptions): Promise<void>;
  // Listens (127.0.0.1:0 unless told) and answers the origin, e.g. http://127.0.0.1:4010.
  listen(options?: { readonly host?: string; readonly port?: number }): Promise<string>;
  close(): Promise<void>;
}

export const base_path = '/v3';

export function buildMarqetaSim(input: MarqetaSimOptions): MarqetaSim {
  const options = resolveOptions(input);
  const logger = input.logger ?? createLogger({ name: 'marqeta-sim', level: input.log_level ?? 'info' });
  const state = new SimState(options);
  let faults = mergeFaults(no_faults, input.faults ?? {});
  // Its own connection pool: the gateway and the webhook receivers are few and local.
  const http = new Agent({ connections: 32, keepAliveTimeout: 4_000, connectTimeout: 5_000 });
  const random = new SeededRandom(options.seed);
  const dispatcher = new WebhookDispatcher({
    state,
    options,
    random: new SeededRandom(options.seed + 1),
    http,
    logger,
    paused: () => faults.webhooks_paused,
  });
  const activity = new CardActivity({
    state,
    options,
    random,
    http,
    dispatcher,
    logger,
    faults: () => faults,
  });
  const setFaults = (change: Partial<SimFaults>): SimFaults => {
    const was_paused = faults.webhooks_paused;
    faults = mergeFaults(faults, change);
    if (was_paused && !faults.webhooks_paused) dispatcher.resume();
    return faults;
  };
  const ctx: SimContext = {
    state,
    options,
    dispatcher,
    activity,
    random,
    fault_random: new SeededRandom(options.seed + 2),
    logger,
    faults: () => faults,
    setFaults,
  };
  const app = createApp(ctx);
  return {
    app,
    state,
    activity,
    logger,
    faults: () => faults,
    setFaults,
    idle: (wait) => dispatcher.idle(wait),
    flushWebhooks: (wait) => dispatcher.flush(wait),
    async listen(listen_options = {}) {
      const host = listen_options.host ?? '127.0.0.1';
      await app.listen({ host, port: listen_options.port ?? 0 });
      const address = app.server.address();
      if (address === null || typeof address === 'string') throw new Error('marqeta-sim: no TCP address');
      return `http://${host}:${address.port}`;
    },
    async close() {
      dispatcher.close();
      await app.close();
      await http.close();
    },
  };
}

function createApp(ctx: SimContext): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: 1024 * 1024,
    // Drops keep-alive sockets on close so that tests end promptly.
    forceCloseConnections: true,
    connectionTimeout: 30_000,
    requestTimeout: 60_000,
  }).withTypeProvider<TypeBoxTypeProvider>();
  // TypeBox checks without coercion: "1.00" stays a string, 1.0 stays a number.
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  installErrorHandlers(app, ctx.logger);
  // Liveness for container health checks and orchestration: no credentials, no faults, no
  // state (the real Marqeta has no such route; README "What it does not model").
  app.get('/health', async () => ({ status: 'ok' }));
  app.register(async (authenticated) => {
    authenticated.addHook(
      'onRequest',
      basicAuthHook(ctx.options.application_token, ctx.options.admin_access_token),
    );
    authenticated.register(
      async (core) => {
        core.addHook('onRequest', coreFaultsHook(ctx));
        await core.register(usersRoutes(ctx));
        await core.register(cardsRoutes(ctx));
        await core.register(fundingRoutes(ctx));
        await core.register(webhookRoutes(ctx));
      },
      { prefix: base_path },
    );
    // Sandbox tooling rather than the Core API: spared the Core API faults, so drills keep
    // their traffic flowing.
    authenticated.register(simulateRoutes(ctx), { prefix: `${base_path}/simulate` });
    authenticated.register(simRoutes(ctx), { prefix: '/_sim' });
  });
  return app as unknown as FastifyInstance;
}
