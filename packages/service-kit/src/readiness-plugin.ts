import { Type } from '@sinclair/typebox';
import fp from 'fastify-plugin';
import { Readiness } from './readiness.ts';
import { ignorePressure } from './under-pressure-plugin.ts';

declare module 'fastify' {
  interface FastifyInstance {
    readiness: Readiness;
  }
}

export interface ReadinessOptions {
  // Per check. Kubernetes' probe timeout defaults to 1 s: set it above check_timeout_ms.
  readonly check_timeout_ms?: number;
}

const HealthResponse = Type.Object({ status: Type.Literal('ok') });

// What the under-pressure plugin answers on this route when the process is overloaded.
const OverloadedResponse = Type.Object({ error: Type.Literal('overloaded') });

const DependencyReportSchema = Type.Object({
  status: Type.Union([Type.Literal('healthy'), Type.Literal('unhealthy')]),
  latency_ms: Type.Number(),
  error: Type.Optional(Type.String()),
});

const ReadinessResponse = Type.Object({
  status: Type.Union([Type.Literal('healthy'), Type.Literal('degraded'), Type.Literal('unhealthy')]),
  timestamp: Type.String(),
  services: Type.Record(Type.String(), DependencyReportSchema),
});

// GET /health is liveness: the process answers, nothing more. Checking dependencies there
// would let a database outage restart every pod. GET /ready is readiness: dependencies.
export const readinessPlugin = fp<ReadinessOptions>(
  async (app, options) => {
    const readiness = new Readiness(options.check_timeout_ms ?? 2_000);
    app.decorate('readiness', readiness);

    app.get(
      '/health',
      { schema: { response: { 200: HealthResponse } }, config: { pressureHandler: ignorePressure } },
      async () => ({ status: 'ok' as const }),
    );

    // Not exempt from under-pressure: an overloaded instance answers 503 here too, so the
    // load balancer stops sending it traffic until it recovers.
    app.get(
      '/ready',
      {
        schema: {
          response: { 200: ReadinessResponse, 503: Type.Union([ReadinessResponse, OverloadedResponse]) },
        },
      },
      async (request, reply) => {
        const report = await readiness.run();
        if (report.status !== 'healthy') request.log.warn({ readiness: report }, 'not fully ready');
        return reply.code(report.status === 'unhealthy' ? 503 : 200).send(report);
      },
    );
  },
  { name: 'afc-readiness', fastify: '5.x' },
);
