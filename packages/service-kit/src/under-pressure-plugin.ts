import assert from 'node:assert/strict';
import { totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { default_shed_event_loop_delay_ms } from '@afc/config';
import underPressure, { type FastifyUnderPressureOptions } from '@fastify/under-pressure';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

export type PressureHandler = (request: FastifyRequest, reply: FastifyReply) => void;

declare module 'fastify' {
  interface FastifyContextConfig {
    // @fastify/under-pressure reads a per-route handler from here; see `ignorePressure`.
    pressureHandler?: PressureHandler;
  }
}

export interface UnderPressureOptions {
  readonly max_event_loop_delay_ms?: number;
  readonly max_event_loop_utilization?: number;
  readonly max_heap_used_bytes?: number;
  readonly max_rss_bytes?: number;
  readonly sample_interval_ms?: number;
  readonly retry_after_s?: number;
  // An extra condition (e.g. "the outbox backlog is too long"): false means under pressure.
  readonly health_check?: () => Promise<boolean>;
  readonly health_check_interval_ms?: number;
}

const sample_interval_ms = 500;
// Pressure is measured by event-loop DELAY (the mean over a sample): the time a request waits
// before its callbacks run, which is what makes answers late. 100 ms is well under the default
// decision deadline (250 ms) and Marqeta's 3 s: past it queued requests would miss their
// deadline anyway, so shedding them early is kinder to everyone. Shedding is cheap, so the
// delay falls and the next sample serves again. Services pass SHED_EVENT_LOOP_DELAY_MS (this
// default unless set).
const max_event_loop_delay_ms = default_shed_event_loop_delay_ms;
// Off (0) unless asked for: a saturated but healthy process runs near 100 % utilization while
// answering in time, and answering 503s keeps it there, so a utilization limit locked the
// authorizer into all-503 under load it was handling.
const max_event_loop_utilization = 0;
const retry_after_s = 5;

// Memory limits are fractions of what this process may really use: the V8 heap limit, and the
// cgroup limit when there is one (containers), else the machine's memory.
function defaultMemoryLimits(): { max_heap_used_bytes: number; max_rss_bytes: number } {
  const constrained = process.constrainedMemory();
  const memory_bytes = constrained > 0 && constrained < totalmem() ? constrained : totalmem();
  return {
    max_heap_used_bytes: Math.floor(getHeapStatistics().heap_size_limit * 0.9),
    max_rss_bytes: Math.floor(memory_bytes * 0.9),
  };
}

// Routes that must answer under pressure (liveness, metrics) set this as their
// `config.pressureHandler`: it sends nothing, so the request proceeds. A liveness probe that
// failed under load would get a busy pod restarted, which makes an overload worse.
export const ignorePressure: PressureHandler = () => {};

export function underPressureSettings(options: UnderPressureOptions = {}): FastifyUnderPressureOptions {
  const memory = defaultMemoryLimits();
  const retry_after = options.retry_after_s ?? retry_after_s;
  assert.ok(Number.isInteger(retry_after) && retry_after > 0, 'retry_after_s must be a positive integer');
  const settings: FastifyUnderPressureOptions = {
    maxEventLoopDelay: options.max_event_loop_delay_ms ?? max_event_loop_delay_ms,
    maxEventLoopUtilization: options.max_event_loop_utilization ?? max_event_loop_utilization,
    // Per sample, not since start: a long-lived process must react to load now.
    eventLoopUtilizationMode: 'interval',
    maxHeapUsedBytes: options.max_heap_used_bytes ?? memory.max_heap_used_bytes,
    maxRssBytes: options.max_rss_bytes ?? memory.max_rss_bytes,
    sampleInterval: options.sample_interval_ms ?? sample_interval_ms,
    retryAfter: retry_after,
    exposeStatusRoute: false,
    pressureHandler: (_request, reply) => {
      reply.code(503).header('retry-after', String(retry_after)).send({ error: 'overloaded' });
    },
  };
  const health_check = options.health_check;
  if (health_check === undefined) return settings;
  return {
    ...settings,
    healthCheck: () => health_check(),
    healthCheckInterval: options.health_check_interval_ms ?? 5_000,
  };
}

// Sheds load with 503 + Retry-After before the process is too slow to answer anyone in time.
export const underPressurePlugin = fp<UnderPressureOptions>(
  async (app, options) => {
    await app.register(underPressure, underPressureSettings(options));
  },
  { name: 'afc-under-pressure', fastify: '5.x' },
);
