import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@afc/log';
import { benchMain } from './bench-main.ts';
import type { ChildServer } from './child-server.ts';
import { startCpuWindow } from './cpu-usage.ts';
import { type Cleanup, redisServerPid } from './isolation.ts';
import { LedgerReader, SettlementQueue } from './ledger-stats.ts';
import type { LoadClient } from './load-client.ts';
import type { PhaseResult, PhaseSpec } from './load-protocol.ts';
import { byLabel, difference, total } from './prometheus-text.ts';
import { describeMachine, fileStamp, phaseErrors, writeFiles } from './report.ts';
import {
  decline_share,
  request_timeout_s,
  resultsDirectory,
  type Seeded,
  seedRun,
  startAuthorizer,
  startLoad,
  startSettlement,
} from './run-setup.ts';
import { sampleDuring } from './sample-during.ts';
import { dependencyStatus, scrape } from './server-metrics.ts';
import { type E2eSettings, readE2eSettings } from './settings.ts';

// `pnpm bench:e2e`: authorization through settlement. The authorizer and the settlement
// service as separate processes on the run's own database, Redis prefix and broker namespace;
// a steady rate of JIT authorizations (some later reversed or cleared) for a fixed time; then
// how fast events reached the ledger, how long after the decision, what was still on its way
// when the load stopped, and how long that took to drain.

const sample_interval_ms = 1_000;
// The drain gives up early when nothing moved for this long and nothing is waiting anywhere.
const stuck_after_ms = 10_000;

interface Running {
  readonly seeded: Seeded;
  readonly authorizer: ChildServer;
  readonly settlement: ChildServer;
  readonly load: LoadClient;
  readonly ledger: LedgerReader;
  readonly queue: SettlementQueue;
  readonly redis_pid: number | undefined;
}

async function prepare(settings: E2eSettings, logger: Logger, cleanup: Cleanup): Promise<Running> {
  const seeded = await seedRun(settings.base.cards, logger, cleanup);
  // Settlement first: its queue exists before the relay publishes the first event.
  const settlement = await startSettlement(seeded);
  cleanup.add('stop settlement', () => settlement.stop(15_000));
  const authorizer = await startAuthorizer(seeded, settings.base.cpu_prof_dir);
  cleanup.add('stop authorizer', () => authorizer.stop(15_000));
  const load = await startLoad(seeded);
  cleanup.add('stop load generator', () => load.stop(5_000));
  const ledger = new LedgerReader(seeded.isolation);
  cleanup.add('close ledger reader', () => ledger.close());
  const queue = await SettlementQueue.open(seeded.isolation, logger);
  cleanup.add('close queue reader', () => queue.close());
  logger.info({ authorizer: authorizer.url, settlement: settlement.url }, 'bench: services up');
  return { seeded, authorizer, settlement, load, ledger, queue, redis_pid: await redisServerPid() };
}

function loadSpec(settings: E2eSettings, running: Running, name: string, duration_s: number, seed: number) {
  return {
    name,
    url: running.authorizer.url,
    connections: settings.base.connections,
    duration_s,
    overall_rate: settings.rate_per_s,
    lanes: settings.base.rate_lanes,
    seed,
    timeout_s: request_timeout_s,
    follow_ups: {
      reversal_share: settings.reversal_share,
      clearing_share: settings.clearing_share,
      after_requests: settings.follow_up_after_requests,
    },
  } satisfies PhaseSpec;
}

// Every answered JIT request (200 or 402) put exactly one event in the outbox.
const answered = (phase: PhaseResult) =>
  (phase.status_counts['200'] ?? 0) + (phase.status_counts['402'] ?? 0);

interface Pipeline {
  readonly at_ms: number;
  // Events settled: ledger rows and no-card declines (see LedgerReader.settled).
  readonly settled: number;
  readonly event_rows: number;
  readonly no_card: number;
  readonly outbox_backlog: number;
  readonly queue_waiting: number;
  readonly parked: number;
}

async function pipeline(running: Running, since_ms: number): Promise<Pipeline> {
  const [settled, metrics, depth] = await Promise.all([
    running.ledger.settled(),
    scrape(running.authorizer.url),
    running.queue.depth(),
  ]);
  return {
    at_ms: Date.now() - since_ms,
    settled: settled.total,
    event_rows: settled.event_rows,
    no_card: settled.no_card,
    outbox_backlog: total(metrics, 'afc_outbox_backlog'),
    queue_waiting: depth.waiting,
    parked: depth.parked,
  };
}

// Until `expected` events are settled and nothing waits in the outbox or the queue (a decision
// past its deadline may add an event: at most the consumer's prefetch can still be in flight);
// bounded by max_s, and by stuck_after_ms without progress while nothing waits (events lost
// or parked).
async function drain(running: Running, expected: number, max_s: number, since_ms: number) {
  const started = Date.now();
  let last = await pipeline(running, since_ms);
  let progress_at = started;
  const samples: Pipeline[] = [last];
  const nothingWaiting = (p: Pipeline) => p.outbox_backlog === 0 && p.queue_waiting === 0;
  const done = (p: Pipeline) => p.settled >= expected && nothingWaiting(p);
  while (!done(last) && Date.now() - started < max_s * 1_000) {
    if (nothingWaiting(last) && Date.now() - progress_at > stuck_after_ms) break;
    await sleep(250);
    const next = await pipeline(running, since_ms);
    if (next.settled > last.settled) progress_at = Date.now();
    last = next;
    if (samples.length < 2_000) samples.push(next);
  }
  return { drained: done(last), time_to_drain_ms: Date.now() - started, last, samples };
}

// The measured load, with the pipeline sampled every second alongside it.
async function measuredLoad(settings: E2eSettings, running: Running) {
  const since_ms = Date.now();
  const sampled = await sampleDuring(
    () => underLoad(settings, running),
    () => pipeline(running, since_ms),
    sample_interval_ms,
  );
  const { settlement_before, ...window } = sampled.result;
  const settlement_delta = difference(await scrape(running.settlement.url), settlement_before);
  return {
    since_ms,
    ...window,
    samples: sampled.samples,
    sample_failures: sampled.sample_failures,
    settlement_outcomes: byLabel(settlement_delta, 'afc_settlement_events_total', 'outcome'),
  };
}

async function underLoad(settings: E2eSettings, running: Running) {
  const settlement_before = await scrape(running.settlement.url);
  const cpu = await startCpuWindow({
    authorizer: running.authorizer.pid,
    settlement: running.settlement.pid,
    load: running.load.pid,
    redis: running.redis_pid,
  });
  const started = new Date();
  const load = await running.load.run(loadSpec(settings, running, 'e2e', settings.duration_s, 202));
  const ended = new Date();
  return { settlement_before, started, ended, load, cpu: await cpu() };
}

async function measure(settings: E2eSettings, running: Running, logger: Logger) {
  const warmup_s = settings.base.warmup_s;
  const warmup =
    warmup_s === 0 ? null : await running.load.run(loadSpec(settings, running, 'e2e-warmup', warmup_s, 201));
  const warm_events = warmup === null ? 0 : answered(warmup);
  // The measured window starts with an empty pipeline (bounded: it is reported if not).
  const settled_before = await drain(running, warm_events, settings.base.settle_max_s, Date.now());
  logger.info({ warm_events, settled: settled_before.drained }, 'bench: warm-up settled');
  const measured = await measuredLoad(settings, running);
  const expected = warm_events + answered(measured.load);
  const at_end = await pipeline(running, measured.since_ms);
  const drained = await drain(running, expected, settings.drain_max_s, measured.since_ms);
  logger.info({ expected, drained: drained.drained, ms: drained.time_to_drain_ms }, 'bench: drained');
  return { warm_events, settled_before, measured, expected, at_end, drained };
}

async function summarize(settings: E2eSettings, running: Running, m: Awaited<ReturnType<typeof measure>>) {
  const { measured, at_end, drained } = m;
  const window_s = (measured.ended.getTime() - measured.started.getTime()) / 1_000;
  const settled_in_window = await running.ledger.settledBetween(measured.started, measured.ended);
  const drained_events = drained.last.settled - at_end.settled;
  const round = (value: number) => Math.round(value);
  return {
    rate_per_s: settings.rate_per_s,
    duration_s: settings.duration_s,
    events_decided: answered(measured.load),
    decided_per_s: measured.load.req_per_s,
    settled_per_s: round(settled_in_window / window_s),
    lag_ms: await running.ledger.lagOfEventsDecidedBetween(measured.started, measured.ended),
    backlog_at_end: {
      events: Math.max(0, m.expected - at_end.settled),
      outbox: at_end.outbox_backlog,
      queue_waiting: at_end.queue_waiting,
    },
    drain: {
      drained: drained.drained,
      time_to_drain_ms: drained.time_to_drain_ms,
      settled_per_s:
        drained.time_to_drain_ms === 0 ? null : round(drained_events / (drained.time_to_drain_ms / 1_000)),
      left: Math.max(0, m.expected - drained.last.settled),
    },
    ledger: {
      events_expected: m.expected,
      settled: drained.last.settled,
      event_rows: drained.last.event_rows,
      no_card: drained.last.no_card,
      parked: drained.last.parked,
      transactions_by_state: await running.ledger.transactionStates(),
    },
    jit: {
      latency_ms: measured.load.latency_ms,
      approved: measured.load.status_counts['200'] ?? 0,
      declined: measured.load.status_counts['402'] ?? 0,
      errors: phaseErrors(measured.load),
    },
  };
}

async function run(logger: Logger, cleanup: Cleanup): Promise<string> {
  const settings = readE2eSettings();
  const started = new Date();
  const loadavg_at_start = os.loadavg();
  const running = await prepare(settings, logger, cleanup);
  const dependencies_at_start = {
    authorizer: await dependencyStatus(running.authorizer.url),
    settlement: await dependencyStatus(running.settlement.url),
  };
  const m = await measure(settings, running, logger);
  const summary = await summarize(settings, running, m);
  const results = {
    benchmark: 'e2e',
    ...summary,
    settings: { ...settings, base: { ...settings.base } },
    seed: {
      cards: running.seeded.plan.cards.length,
      decline_share_offered: decline_share,
      seed_ms: running.seeded.seed_ms,
    },
    warm_up: {
      events: m.warm_events,
      settled: m.settled_before.drained,
      waited_ms: m.settled_before.time_to_drain_ms,
    },
    load: m.measured.load,
    cpu: m.measured.cpu,
    settlement_outcomes: m.measured.settlement_outcomes,
    samples: {
      during_load: m.measured.samples,
      failed_during_load: m.measured.sample_failures,
      drain: m.drained.samples,
    },
    dependencies_at_start,
    server_logs: { authorizer: running.authorizer.logSummary(), settlement: running.settlement.logSummary() },
    machine: describeMachine(loadavg_at_start, started),
    run_seconds: Math.round((Date.now() - started.getTime()) / 100) / 10,
  };
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const stamp = fileStamp(started);
  await writeFiles(resultsDirectory(), [
    [`e2e-${stamp}.json`, json],
    ['latest-e2e.json', json],
  ]);
  logger.info({ file: `e2e-${stamp}.json` }, 'bench: results written');
  const lag = summary.lag_ms;
  return (
    `e2e: ${summary.settled_per_s} events/s settled at ${settings.rate_per_s}/s offered; ` +
    `lag p50 ${lag?.p50 ?? 'n/a'} ms, p99 ${lag?.p99 ?? 'n/a'} ms; backlog at end ${summary.backlog_at_end.events}, ` +
    `drained ${summary.drain.drained ? `in ${summary.drain.time_to_drain_ms} ms` : 'no'}; parked ${summary.ledger.parked}`
  );
}

await benchMain(readE2eSettings().base.log_level, run);
