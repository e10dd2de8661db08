import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@afc/log';
import { freePort } from '@afc/testkit';
import { benchMain } from './bench-main.ts';
import type { CardPlan } from './card-plan.ts';
import { ChildServer } from './child-server.ts';
import { type CpuSample, startCpuWindow } from './cpu-usage.ts';
import { brokerPid, type Cleanup, type Isolation, redisServerPid } from './isolation.ts';
import type { LoadClient } from './load-client.ts';
import type { PhaseResult, PhaseSpec } from './load-protocol.ts';
import { buildMarkdown } from './markdown.ts';
import { type CommandCost, commandStats, topCommands } from './redis-stats.ts';
import { describeMachine, phaseErrors, summaryLine, targets, writeResults } from './report.ts';
import type { RatioPair } from './report-input.ts';
import {
  decline_share,
  request_timeout_s,
  resultsDirectory,
  seedRun,
  settleOutbox,
  startAuthorizer,
  startLoad,
} from './run-setup.ts';
import { dependencyStatus, type PhaseServerMetrics, phaseServerMetrics, scrape } from './server-metrics.ts';
import { type BenchSettings, readSettings } from './settings.ts';

// `pnpm bench:authorizer`: seeds a run's own database, Redis prefix and broker namespace,
// starts the authorizer and a bare Fastify baseline as separate processes, drives both with
// autocannon from a third, writes bench/results/, prints one line, and removes what it made.

const baseline_entry = fileURLToPath(new URL('./baseline-server.ts', import.meta.url));

interface Running {
  readonly isolation: Isolation;
  readonly plan: CardPlan;
  readonly seed_ms: number;
  readonly authorizer: ChildServer;
  readonly baseline: ChildServer;
  readonly load: LoadClient;
  readonly redis_pid: number | undefined;
  readonly broker_pid: number | undefined;
}

async function prepare(settings: BenchSettings, logger: Logger, cleanup: Cleanup): Promise<Running> {
  const seeded = await seedRun(settings.cards, logger, cleanup);
  const { isolation, plan, seed_ms } = seeded;
  const authorizer = await startAuthorizer(seeded, settings.cpu_prof_dir);
  cleanup.add('stop authorizer', () => authorizer.stop(15_000));
  const baseline = await ChildServer.start({
    name: 'baseline',
    entry: baseline_entry,
    node_options: ['--conditions=@afc/source'],
    env: { LOG_LEVEL: 'warn' },
    port: await freePort(),
    ready_path: '/health',
    ready_timeout_ms: 15_000,
  });
  cleanup.add('stop baseline', () => baseline.stop(5_000));
  const load = await startLoad(seeded);
  cleanup.add('stop load generator', () => load.stop(5_000));
  logger.info({ seed_ms, authorizer: authorizer.url, baseline: baseline.url }, 'bench: servers up');
  const [redis_pid, broker_pid] = [await redisServerPid(), await brokerPid()];
  return { isolation, plan, seed_ms, authorizer, baseline, load, redis_pid, broker_pid };
}

interface MeasuredPhase {
  readonly load: PhaseResult;
  readonly cpu: CpuSample;
  readonly server: PhaseServerMetrics | null;
  readonly redis_top_commands: readonly CommandCost[];
}

async function measured(
  running: Running,
  spec: PhaseSpec,
  server: ChildServer,
  logger: Logger,
): Promise<MeasuredPhase> {
  const with_metrics = server === running.authorizer;
  const before = with_metrics ? await scrape(server.url) : undefined;
  const redis_before = await commandStats();
  const cpu = await startCpuWindow({
    server: server.pid,
    load: running.load.pid,
    redis: running.redis_pid,
    broker: running.broker_pid,
  });
  const load = await running.load.run(spec);
  const cpu_sample = await cpu();
  const redis_top_commands = topCommands(await commandStats(), redis_before, 6);
  const server_metrics = before === undefined ? null : phaseServerMetrics(before, await scrape(server.url));
  logger.info(
    { phase: spec.name, req_per_s: load.req_per_s, latency_ms: load.latency_ms },
    'bench: phase done',
  );
  return { load, cpu: cpu_sample, server: server_metrics, redis_top_commands };
}

// Short baseline and authorizer phases back to back, the outbox settled before each baseline
// (its relay would otherwise run during it): the host's speed moves less within a pair than
// between the long phases a minute apart.
function ratioOf(authorizer_per_s: number, baseline_per_s: number): number {
  return baseline_per_s === 0 ? 0 : authorizer_per_s / baseline_per_s;
}

async function measureRatioPairs(settings: BenchSettings, running: Running, logger: Logger) {
  const pairs: RatioPair[] = [];
  for (let pair = 0; pair < settings.ratio_pairs; pair += 1) {
    const spec = (name: string, url: string): PhaseSpec => ({
      name: `${name}-pair-${pair + 1}`,
      url,
      connections: settings.connections,
      duration_s: settings.ratio_pair_s,
      seed: 100 + pair,
      timeout_s: request_timeout_s,
    });
    await settleOutbox(running.authorizer.url, settings.settle_max_s);
    const baseline = await running.load.run(spec('baseline', running.baseline.url));
    const authorizer = await running.load.run(spec('authorizer', running.authorizer.url));
    pairs.push({
      baseline_per_s: baseline.req_per_s,
      authorizer_per_s: authorizer.req_per_s,
      ratio: ratioOf(authorizer.req_per_s, baseline.req_per_s),
      errors: phaseErrors(baseline) + phaseErrors(authorizer),
    });
    logger.info({ pair: pairs.at(-1) }, 'bench: ratio pair done');
  }
  return pairs;
}

function medianOf(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] ?? 0;
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] ?? 0) + upper) / 2;
}

async function measurePhases(settings: BenchSettings, running: Running, logger: Logger) {
  const { authorizer, baseline, load } = running;
  const spec = (name: string, url: string, seed: number): PhaseSpec => ({
    name,
    url,
    connections: settings.connections,
    duration_s: settings.duration_s,
    seed,
    timeout_s: request_timeout_s,
  });
  // Warm-up at the fixed rate, as live traffic would warm a new process: V8 has compiled the
  // hot path before the saturation phase, and that phase starts from a server that is keeping
  // up rather than from one already overloaded (see README, load shedding).
  const warm = async (name: string, url: string, seed: number) => {
    if (settings.warmup_s === 0) return;
    const rate = { overall_rate: settings.rate_per_s, lanes: settings.rate_lanes };
    await load.run({ ...spec(name, url, seed), ...rate, duration_s: settings.warmup_s });
  };
  const dependencies_at_start = await dependencyStatus(authorizer.url);
  await warm('baseline-warmup', baseline.url, 1);
  const baseline_50 = await measured(running, spec('baseline-50', baseline.url, 2), baseline, logger);
  await warm('authorizer-warmup', authorizer.url, 3);
  const authorizer_50 = await measured(running, spec('authorizer-50', authorizer.url, 4), authorizer, logger);
  const ratio_pairs = await measureRatioPairs(settings, running, logger);
  await baseline.stop(5_000);
  const settle = await settleOutbox(authorizer.url, settings.settle_max_s);
  const rate_spec = {
    ...spec('authorizer-rate', authorizer.url, 5),
    overall_rate: settings.rate_per_s,
    lanes: settings.rate_lanes,
  };
  const authorizer_rate = await measured(running, rate_spec, authorizer, logger);
  const dependencies_at_end = await dependencyStatus(authorizer.url);
  return {
    baseline_50,
    authorizer_50,
    ratio_pairs,
    settle,
    authorizer_rate,
    authorizer_dependencies: { at_start: dependencies_at_start, at_end: dependencies_at_end },
  };
}

function compile(settings: BenchSettings, phases: Awaited<ReturnType<typeof measurePhases>>) {
  const { baseline_50, authorizer_50, authorizer_rate } = phases;
  const authorizer_phases = [authorizer_50.load, authorizer_rate.load];
  const count = (status: string) =>
    authorizer_phases.reduce((sum, p) => sum + (p.status_counts[status] ?? 0), 0);
  const approved = count('200');
  const declined = count('402');
  const long_ratio = ratioOf(authorizer_50.load.req_per_s, baseline_50.load.req_per_s);
  const ratio = medianOf(phases.ratio_pairs.map((pair) => pair.ratio)) ?? long_ratio;
  const headline = {
    ratio: Math.round(ratio * 1_000) / 1_000,
    ratio_of_long_phases: Math.round(long_ratio * 1_000) / 1_000,
    p50_ms: authorizer_50.load.latency_ms?.p50 ?? null,
    p99_ms: authorizer_50.load.latency_ms?.p99 ?? null,
    p99_at_rate_ms: authorizer_rate.load.latency_ms?.p99 ?? null,
    rate_per_s: settings.rate_per_s,
    // The pairs' phases too: the headline ratio comes from them.
    errors:
      authorizer_phases.reduce((sum, phase) => sum + phaseErrors(phase), 0) +
      phases.ratio_pairs.reduce((sum, pair) => sum + (pair.errors ?? 0), 0),
  };
  const met = {
    ratio: headline.ratio >= targets.ratio_min,
    p99_ms: headline.p99_ms !== null && headline.p99_ms <= targets.p99_ms_max,
    p99_at_2000_ms: headline.p99_at_rate_ms !== null && headline.p99_at_rate_ms <= targets.p99_at_rate_ms_max,
    errors: headline.errors <= targets.errors_max,
  };
  return { headline, approved, declined, met };
}

async function run(settings: BenchSettings, logger: Logger, cleanup: Cleanup) {
  const started = new Date();
  const loadavg_at_start = os.loadavg();
  const running = await prepare(settings, logger, cleanup);
  const phases = await measurePhases(settings, running, logger);
  const { headline, approved, declined, met } = compile(settings, phases);
  const results = {
    benchmark: 'authorizer',
    ratio: headline.ratio,
    ratio_of_long_phases: headline.ratio_of_long_phases,
    p50_ms: headline.p50_ms,
    p99_ms: headline.p99_ms,
    p99_at_2000_ms: headline.p99_at_rate_ms,
    errors: headline.errors,
    approved,
    declined,
    decline_rate:
      approved + declined === 0 ? 0 : Math.round((declined / (approved + declined)) * 1_000) / 1_000,
    targets: { ...targets, rate_per_s: settings.rate_per_s },
    met,
    settings,
    seed: {
      cards: running.plan.cards.length,
      users: running.plan.users.length,
      companies: running.plan.companies,
      partitions_covered: running.plan.partitions_covered,
      decline_share_offered: decline_share,
      redis_state: 'pre-warmed through @afc/card-state write-through before the run (no cold loads)',
      seed_ms: running.seed_ms,
    },
    phases,
    server_logs: { authorizer: running.authorizer.logSummary(), baseline: running.baseline.logSummary() },
    machine: describeMachine(loadavg_at_start, started),
    run_seconds: Math.round((Date.now() - started.getTime()) / 100) / 10,
  };
  const file = await writeResults(resultsDirectory(), results, buildMarkdown(results), started);
  logger.info({ file }, 'bench: results written');
  return summaryLine(headline);
}

const settings = readSettings();
await benchMain(settings.log_level, (logger, cleanup) => run(settings, logger, cleanup));
