import { AssertionError } from 'node:assert/strict';
import { waitUntil } from '@afc/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { ReadinessCheckTimeoutError, type ReadinessReport, type Service } from '../src/index.ts';
import { deferred, testService } from './helpers.ts';

let app: Service | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

function refused(message: string): Error {
  // Shaped like a driver error: a code, and a message with details a probe must not leak.
  return Object.assign(new Error(message), { code: 'ECONNREFUSED' });
}

async function ready(service: Service): Promise<{ status_code: number; report: ReadinessReport }> {
  const response = await service.inject({ method: 'GET', url: '/ready' });
  return { status_code: response.statusCode, report: response.json<ReadinessReport>() };
}

describe('GET /health', () => {
  it('answers ok without running any dependency check', async () => {
    ({ app } = await testService());
    let calls = 0;
    app.readiness.register(
      'postgres',
      async () => {
        calls += 1;
        throw refused('down');
      },
      { critical: true },
    );
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
    expect(calls).toBe(0);
  });
});

describe('GET /ready', () => {
  it('is healthy when every check passes, with a latency per dependency', async () => {
    ({ app } = await testService());
    app.readiness.register('postgres', async () => {}, { critical: true });
    app.readiness.register('redis', async () => {}, { critical: true });
    const { status_code, report } = await ready(app);
    expect(status_code).toBe(200);
    expect(report.status).toBe('healthy');
    expect(new Date(report.timestamp).toISOString()).toBe(report.timestamp);
    expect(Object.keys(report.services).sort()).toEqual(['postgres', 'redis']);
    for (const service of Object.values(report.services)) {
      expect(service.status).toBe('healthy');
      expect(service.latency_ms).toBeGreaterThanOrEqual(0);
      expect(service).not.toHaveProperty('error');
    }
  });

  it('is degraded, still 200, when only a non-critical check fails; the error is short and safe', async () => {
    ({ app } = await testService());
    app.readiness.register('postgres', async () => {}, { critical: true });
    app.readiness.register(
      'marqeta',
      async () => {
        throw refused('connect to https://admin:s3cret-token@marqeta.example failed');
      },
      { critical: false },
    );
    const response = await app.inject({ method: 'GET', url: '/ready' });
    expect(response.statusCode).toBe(200);
    const report = response.json<ReadinessReport>();
    expect(report.status).toBe('degraded');
    expect(report.services.postgres?.status).toBe('healthy');
    expect(report.services.marqeta).toMatchObject({ status: 'unhealthy', error: 'ECONNREFUSED' });
    expect(response.body).not.toContain('s3cret-token');
  });

  it('is unhealthy with 503 when a critical check fails, even one that throws synchronously', async () => {
    ({ app } = await testService());
    app.readiness.register('cache', async () => {}, { critical: false });
    app.readiness.register(
      'redis',
      (() => {
        throw new TypeError('not a promise at all');
      }) as () => Promise<void>,
      { critical: true },
    );
    const { status_code, report } = await ready(app);
    expect(status_code).toBe(503);
    expect(report.status).toBe('unhealthy');
    expect(report.services.redis).toMatchObject({ status: 'unhealthy', error: 'TypeError' });
    expect(report.services.cache?.status).toBe('healthy');
  });

  it('reports a check that never settles as timed out, and aborts its signal', async () => {
    ({ app } = await testService({ readiness: { check_timeout_ms: 20 } }));
    let seen: AbortSignal | undefined;
    app.readiness.register(
      'rabbitmq',
      (signal) => {
        seen = signal;
        return new Promise<void>(() => {});
      },
      { critical: true },
    );
    app.readiness.register('postgres', async () => {}, { critical: true });
    const { status_code, report } = await ready(app);
    expect(status_code).toBe(503);
    expect(report.services.rabbitmq).toMatchObject({
      status: 'unhealthy',
      error: 'AFC_SERVICE_READINESS_CHECK_TIMEOUT',
    });
    expect(report.services.postgres?.status).toBe('healthy');
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBeInstanceOf(ReadinessCheckTimeoutError);
  });

  it('is healthy with no checks registered', async () => {
    ({ app } = await testService());
    const { status_code, report } = await ready(app);
    expect(status_code).toBe(200);
    expect(report).toMatchObject({ status: 'healthy', services: {} });
  });

  it('shares one run of the checks between concurrent probes', async () => {
    ({ app } = await testService());
    const service = app;
    let calls = 0;
    let arrived = 0;
    const gate = deferred();
    service.addHook('preHandler', async () => {
      arrived += 1;
    });
    service.readiness.register(
      'postgres',
      async () => {
        calls += 1;
        await gate.promise;
      },
      { critical: true },
    );
    const probes = [ready(service), ready(service)];
    await waitUntil(() => arrived === 2, { timeout_ms: 5_000, message: 'both probes reached the handler' });
    gate.resolve();
    const results = await Promise.all(probes);
    expect(results.map((result) => result.report.status)).toEqual(['healthy', 'healthy']);
    expect(calls).toBe(1);
  });

  it('refuses a check name registered twice', async () => {
    ({ app } = await testService());
    app.readiness.register('postgres', async () => {}, { critical: true });
    expect(() => app?.readiness.register('postgres', async () => {}, { critical: false })).toThrow(
      AssertionError,
    );
  });
});
