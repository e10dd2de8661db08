import fp from 'fastify-plugin';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { ignorePressure } from './under-pressure-plugin.ts';

export interface ServiceMetrics {
  // Services add their own metrics here (`registers: [app.metrics.registry]`).
  readonly registry: Registry;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: ServiceMetrics;
  }
}

export interface MetricsOptions {
  readonly service_name: string;
}

// Seconds. A JIT decision takes a few milliseconds and Marqeta gives up at 3 s: resolution
// where the hot path lives, and a last bucket at the deadline.
export const http_duration_buckets_s = [
  0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2, 3,
] as const;

// Requests that matched no route share one label value: raw URLs would make one time series
// per scanner probe.
const unmatched_route = 'unmatched';

export function routeLabel(route_url: string | undefined): string {
  return route_url ?? unmatched_route;
}

// One Registry per app, never prom-client's global one: two apps in a process (tests, or a
// tool embedding a service) would otherwise collide on metric names.
export const metricsPlugin = fp<MetricsOptions>(
  async (app, options) => {
    const registry = new Registry();
    registry.setDefaultLabels({ service: options.service_name });
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
    const http_duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration from arrival to response sent, by method, route pattern and status',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [...http_duration_buckets_s],
      registers: [registry],
    });
    app.decorate('metrics', { registry });

    // Callback-style: an async hook costs a promise per request.
    app.addHook('onResponse', (request, reply, done) => {
      const labels = {
        method: request.method,
        route: routeLabel(request.routeOptions.url),
        status_code: String(reply.statusCode),
      };
      http_duration.observe(labels, reply.elapsedTime / 1_000);
      done();
    });

    app.get('/metrics', { config: { pressureHandler: ignorePressure } }, async (_request, reply) => {
      return reply.type(registry.contentType).send(await registry.metrics());
    });
  },
  { name: 'afc-metrics', fastify: '5.x' },
);
