import { Counter } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Service } from '../src/index.ts';
import { testService } from './helpers.ts';

const apps: Service[] = [];

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function service(name: string): Promise<Service> {
  const { app } = await testService({ name });
  app.get('/cards/:token', async () => ({ ok: true }));
  apps.push(app);
  return app;
}

async function scrape(app: Service): Promise<{ content_type: string; lines: string[] }> {
  const response = await app.inject({ method: 'GET', url: '/metrics' });
  expect(response.statusCode).toBe(200);
  return { content_type: String(response.headers['content-type']), lines: response.body.split('\n') };
}

// The sample line of a metric whose labels include every given label, in any order.
function sample(lines: string[], metric: string, labels: Record<string, string>): number | undefined {
  const line = lines.find(
    (candidate) =>
      candidate.startsWith(`${metric}{`) &&
      Object.entries(labels).every(([key, value]) => candidate.includes(`${key}="${value}"`)),
  );
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('GET /metrics', () => {
  it('exposes process metrics and the HTTP histogram by route pattern, in Prometheus text format', async () => {
    const app = await service('authorizer');
    await app.inject({ method: 'GET', url: '/cards/c-1' });
    await app.inject({ method: 'GET', url: '/cards/c-2' });
    await app.inject({ method: 'GET', url: '/unknown/path/c-3' });
    const { content_type, lines } = await scrape(app);
    expect(content_type).toContain('text/plain');
    expect(content_type).toContain('version=0.0.4');
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(lines.some((line) => line.startsWith(`${name}{`) && line.includes('service="authorizer"'))).toBe(
        true,
      );
    }
    const labels = { method: 'GET', route: '/cards/:token', status_code: '200', service: 'authorizer' };
    expect(sample(lines, 'http_request_duration_seconds_count', labels)).toBe(2);
    expect(sample(lines, 'http_request_duration_seconds_bucket', { ...labels, le: '0.0005' })).toBeDefined();
    expect(sample(lines, 'http_request_duration_seconds_bucket', { ...labels, le: '3' })).toBeDefined();
    // Unmatched URLs share one series instead of one per URL.
    expect(
      sample(lines, 'http_request_duration_seconds_count', { route: 'unmatched', status_code: '404' }),
    ).toBe(1);
    expect(lines.join('\n')).not.toContain('c-3');
  });

  it('keeps a registry per app: two apps in one process neither collide nor share samples', async () => {
    const first = await service('first');
    const second = await service('second');
    expect(first.metrics.registry).not.toBe(second.metrics.registry);
    // The same metric name in both: prom-client's global registry would throw here.
    const counters = [first, second].map(
      (app) =>
        new Counter({ name: 'afc_decisions_total', help: 'decisions', registers: [app.metrics.registry] }),
    );
    counters[0]?.inc(3);
    await first.inject({ method: 'GET', url: '/cards/c-1' });

    const scraped_first = (await scrape(first)).lines;
    const scraped_second = (await scrape(second)).lines;
    expect(scraped_first).toContain('afc_decisions_total{service="first"} 3');
    expect(scraped_second).toContain('afc_decisions_total{service="second"} 0');
    expect(sample(scraped_first, 'http_request_duration_seconds_count', { route: '/cards/:token' })).toBe(1);
    expect(
      sample(scraped_second, 'http_request_duration_seconds_count', { route: '/cards/:token' }),
    ).toBeUndefined();
  });
});
