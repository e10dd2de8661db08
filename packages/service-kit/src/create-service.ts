import assert from 'node:assert/strict';
import type { Logger } from '@afc/log';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import { errorHandlerPlugin } from './error-handler-plugin.ts';
import { ServiceLogController } from './log-controller.ts';
import { metricsPlugin } from './metrics-plugin.ts';
import { type ReadinessOptions, readinessPlugin } from './readiness-plugin.ts';
import { genReqId, request_id_header } from './request-id.ts';
import { type UnderPressureOptions, underPressurePlugin } from './under-pressure-plugin.ts';

export type Service = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression<RawServerDefault>,
  RawReplyDefaultExpression<RawServerDefault>,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface ServiceOptions {
  readonly name: string;
  readonly logger: Logger;
  readonly body_limit_bytes: number;
  // Idle socket timeout.
  readonly connection_timeout_ms?: number;
  // Above the usual load-balancer idle timeout (60 s), so the balancer closes idle connections
  // first and never sends a request on a socket we are closing.
  readonly keep_alive_timeout_ms?: number;
  // Whole request, headers and body: bounds slow-loris clients.
  readonly request_timeout_ms?: number;
  readonly plugin_timeout_ms?: number;
  readonly under_pressure?: UnderPressureOptions;
  readonly readiness?: ReadinessOptions;
}

const defaults = {
  connection_timeout_ms: 30_000,
  keep_alive_timeout_ms: 72_000,
  request_timeout_ms: 10_000,
  plugin_timeout_ms: 10_000,
};

function fastifyOptions(options: ServiceOptions) {
  // Typed as Fastify's base logger so plugins written against the default instance type fit.
  const logger: FastifyBaseLogger = options.logger;
  return {
    loggerInstance: logger,
    genReqId,
    logController: new ServiceLogController({ requestIdLogLabel: 'request_id' }),
    bodyLimit: options.body_limit_bytes,
    connectionTimeout: options.connection_timeout_ms ?? defaults.connection_timeout_ms,
    keepAliveTimeout: options.keep_alive_timeout_ms ?? defaults.keep_alive_timeout_ms,
    requestTimeout: options.request_timeout_ms ?? defaults.request_timeout_ms,
    pluginTimeout: options.plugin_timeout_ms ?? defaults.plugin_timeout_ms,
    // Requests that arrive on a kept-alive socket while closing get 503 at once (the balancer
    // retries them elsewhere); idle sockets are closed so close() waits only for real work.
    return503OnClosing: true,
    forceCloseConnections: 'idle' as const,
    // We sit behind a balancer we configure; request.ip is not used for decisions.
    trustProxy: false,
    onProtoPoisoning: 'error' as const,
    onConstructorPoisoning: 'error' as const,
    ajv: {
      customOptions: {
        // Marqeta adds fields to its messages without notice: a schema names the fields we use
        // and the rest pass through untouched. Never strip silently; a schema that truly wants
        // to forbid extras says `additionalProperties: false` and then rejects with 400.
        removeAdditional: false,
        // Fastify's defaults, kept on purpose: query strings and headers arrive as strings.
        coerceTypes: 'array' as const,
        useDefaults: true,
        // First error only: allErrors lets a hostile body make validation do unbounded work.
        allErrors: false,
      },
    },
  };
}

// Hooks on every request are callback-style: an async hook costs a promise per request.
function echoRequestId(app: Service): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(request_id_header, request.id);
    done();
  });
}

// server.close() stops accepting and drops idle keep-alive sockets, but a socket busy with an
// in-flight request stays open after its response until keep_alive_timeout_ms, holding close()
// (and the whole shutdown) hostage. Answers sent once closing has begun end their connection.
function closeConnectionsWhileClosing(app: Service): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
}

// The app every service starts from. Register infrastructure plugins (databases, Redis, AMQP)
// on it first and the service's own plugin last: Fastify closes them in reverse order, so the
// clients outlive the work that uses them (see README "Shutdown order").
// Bodies are JSON and keep their types: a coercing validator turns "100" into an amount of 100
// and "1.00" into 1 (which the JIT answer must echo as sent). Params, query strings and headers
// arrive as text and are coerced. Same options otherwise, chosen in fastifyOptions' comments.
const validator_options = { removeAdditional: false, useDefaults: true, allErrors: false } as const;
const body_ajv = new Ajv({ ...validator_options, coerceTypes: false });
const text_ajv = new Ajv({ ...validator_options, coerceTypes: 'array' });

function validateBodiesWithoutCoercion(app: Service): void {
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? body_ajv : text_ajv).compile(schema),
  );
}

export async function createService(options: ServiceOptions): Promise<Service> {
  assert.ok(options.name.length > 0, 'a service needs a name');
  assert.ok(
    Number.isInteger(options.body_limit_bytes) && options.body_limit_bytes > 0,
    'body_limit_bytes > 0',
  );
  const app: Service = Fastify(fastifyOptions(options)).withTypeProvider<TypeBoxTypeProvider>();
  validateBodiesWithoutCoercion(app);
  echoRequestId(app);
  closeConnectionsWhileClosing(app);
  app.register(errorHandlerPlugin);
  app.register(underPressurePlugin, options.under_pressure ?? {});
  app.register(metricsPlugin, { service_name: options.name });
  app.register(readinessPlugin, options.readiness ?? {});
  // Load the kit's plugins now, so `app.readiness` and `app.metrics` are usable as soon as the
  // caller has the app (routes and plugins can still be added until it listens).
  await app.after();
  return app;
}
