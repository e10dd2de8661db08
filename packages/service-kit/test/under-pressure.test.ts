import { afterEach, describe, expect, it } from 'vitest';
import { type Service, underPressureSettings } from '../src/index.ts';
import { testService } from './helpers.ts';

let app: Service | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

// A custom health check is the deterministic way to put the process under pressure: the
// memory and event-loop conditions depend on the machine running the test.
async function serviceUnder(pressure: boolean): Promise<Service> {
  const { app: service } = await testService({
    under_pressure: {
      health_check: async () => !pressure,
      health_check_interval_ms: 60_000,
      retry_after_s: 7,
    },
  });
  service.get('/v1/jit', async () => ({ approved: true }));
  return service;
}

describe('under pressure', () => {
  it('sheds traffic with 503, a JSON body and Retry-After', async () => {
    app = await serviceUnder(true);
    const response = await app.inject({ method: 'GET', url: '/v1/jit' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ error: 'overloaded' });
    expect(response.headers['retry-after']).toBe('7');
    expect(app.isUnderPressure()).toBe(true);
  });

  it('reports not ready, but stays live and scrapeable', async () => {
    app = await serviceUnder(true);
    const ready = await app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({ error: 'overloaded' });
    const health = await app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
  });

  it('serves normally when the same check reports no pressure', async () => {
    app = await serviceUnder(false);
    const response = await app.inject({ method: 'GET', url: '/v1/jit' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ approved: true });
  });

  it('passes every limit explicitly, with overrides winning', () => {
    const settings = underPressureSettings({ max_event_loop_delay_ms: 100, max_rss_bytes: 1_000 });
    expect(settings).toMatchObject({
      maxEventLoopDelay: 100,
      maxRssBytes: 1_000,
      // Utilization is not a limit unless asked for: shedding is by delay.
      maxEventLoopUtilization: 0,
      eventLoopUtilizationMode: 'interval',
      retryAfter: 5,
      sampleInterval: 500,
    });
    expect(settings.maxHeapUsedBytes).toBeGreaterThan(0);
    expect(settings.healthCheck).toBeUndefined();
    expect(underPressureSettings()).toMatchObject({ maxEventLoopDelay: 100, maxEventLoopUtilization: 0 });
    expect(underPressureSettings({ max_event_loop_utilization: 0.99 }).maxEventLoopUtilization).toBe(0.99);
  });
});
