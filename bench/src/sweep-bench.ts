import os from 'node:os';
import type { Logger } from '@afc/log';
import { benchMain } from './bench-main.ts';
import type { ChildServer } from './child-server.ts';
import { startCpuWindow } from './cpu-usage.ts';
import { type Cleanup, redisServerPid } from './isolation.ts';
import { latencyChartSvg } from './latency-chart.ts';
import type { LoadClient } from './load-client.ts';
import { describeMachine, fileStamp, phaseErrors, targets, writeFiles } from './report.ts';
import {
  decline_share,
  request_timeout_s,
  resultsDirectory,
  seedRun,
  settleOutbox,
  startAuthorizer,
  startLoad,
} from './run-setup.ts';
import { phaseServerMetrics, scrape } from './server-metrics.ts';
import { readSweepSettings, type SweepSettings } from './settings.ts';
import { type SweepPoint, sweepChartOptions } from './sweep-report.ts';

// `pnpm bench:sweep`: the authorizer alone at several fixed offered rates, short phases one
// after another, each answer's latency from the load generator: the points of the
// latency-vs-load chart (results/latest-latency.svg) and of the report's table.

interface Running {
  readonly authorizer: ChildServer;
  readonly load: LoadClient;
  readonly redis_pid: number | undefined;
  readonly cards: number;
  readonly seed_ms: number;
}

async function prepare(settings: SweepSettings, logger: Logger, cleanup: Cleanup): Promise<Running> {
  const seeded = await seedRun(settings.base.cards, logger, cleanup);
  const authorizer = await startAuthorizer(seeded, settings.base.cpu_prof_dir);
  cleanup.add('stop authorizer', () => authorizer.stop(15_000));
  const load = await startLoad(seeded);
  cleanup.add('stop load generator', () => load.stop(5_000));
  logger.info({ seed_ms: seeded.seed_ms, authorizer: authorizer.url }, 'bench: authorizer up');
  return {
    authorizer,
    load,
    redis_pid: await redisServerPid(),
    cards: seeded.plan.cards.length,
    seed_ms: seeded.seed_ms,
  };
}

// Enough connections that the offered rate is not capped by answers taking up to 25 ms
// (Little's law): past that the achieved rate falls short, and the chart shows it.
export function sweepConnections(rate_per_s: number, minimum: number): number {
  return Math.max(minimum, Math.ceil(rate_per_s * 0.025));
}

async function measureRate(settings: SweepSettings, running: Running, rate: number, seed: number) {
  const { authorizer, load } = running;
  const settle = await settleOutbox(authorizer.url, settings.base.settle_max_s);
  const before = await scrape(authorizer.url);
  const cpu = await startCpuWindow({ server: authorizer.pid, load: load.pid, redis: running.redis_pid });
  const result = await load.run({
    name: `sweep-${rate}`,
    url: authorizer.url,
    connections: sweepConnections(rate, settings.base.connections),
    duration_s: settings.phase_s,
    overall_rate: rate,
    lanes: settings.base.rate_lanes,
    seed,
    timeout_s: request_timeout_s,
  });
  const cpu_sample = await cpu();
  const server = phaseServerMetrics(before, await scrape(authorizer.url));
  const point: SweepPoint = {
    offered_per_s: rate,
    achieved_per_s: result.req_per_s,
    connections: result.connections,
    latency_ms: result.latency_ms,
    errors: phaseErrors(result),
    decisions: result.decisions,
    machine_busy_share: cpu_sample.machine_busy_share,
  };
  return { point, load: result, cpu: cpu_sample, server, settle_before: settle };
}

async function run(logger: Logger, cleanup: Cleanup): Promise<string> {
  const settings = readSweepSettings();
  const started = new Date();
  const loadavg_at_start = os.loadavg();
  const running = await prepare(settings, logger, cleanup);
  const first = settings.rates_per_s[0] ?? 500;
  if (settings.base.warmup_s > 0) {
    await running.load.run({
      name: 'sweep-warmup',
      url: running.authorizer.url,
      connections: sweepConnections(first, settings.base.connections),
      duration_s: settings.base.warmup_s,
      overall_rate: first,
      lanes: settings.base.rate_lanes,
      seed: 100,
      timeout_s: request_timeout_s,
    });
  }
  const phases = [];
  for (const [index, rate] of settings.rates_per_s.entries()) {
    const phase = await measureRate(settings, running, rate, 101 + index);
    logger.info(
      { rate, latency_ms: phase.point.latency_ms, errors: phase.point.errors },
      'bench: sweep point',
    );
    phases.push(phase);
  }
  const machine = describeMachine(loadavg_at_start, started);
  const points = phases.map((phase) => phase.point);
  const results = {
    benchmark: 'sweep',
    points,
    targets,
    settings: { ...settings, base: { ...settings.base } },
    seed: { cards: running.cards, decline_share_offered: decline_share, seed_ms: running.seed_ms },
    phases,
    server_logs: { authorizer: running.authorizer.logSummary() },
    machine,
    run_seconds: Math.round((Date.now() - started.getTime()) / 100) / 10,
  };
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const svg = latencyChartSvg(points, sweepChartOptions(machine, settings.phase_s));
  const stamp = fileStamp(started);
  await writeFiles(resultsDirectory(), [
    [`sweep-${stamp}.json`, json],
    ['latest-sweep.json', json],
    ['latest-latency.svg', svg],
  ]);
  logger.info({ file: `sweep-${stamp}.json` }, 'bench: results written');
  return `sweep: ${points.map((p) => `${p.offered_per_s}/s p99 ${p.latency_ms?.p99 ?? 'n/a'} ms`).join('; ')}`;
}

await benchMain(readSweepSettings().base.log_level, run);
