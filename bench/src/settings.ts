import assert from 'node:assert/strict';

// What one run does, from the environment. Defaults are the shipped run (about a minute and a
// half on a 2-core machine); short values are for developing the benchmark itself.
export interface BenchSettings {
  readonly duration_s: number;
  readonly warmup_s: number;
  readonly cards: number;
  readonly connections: number;
  readonly rate_per_s: number;
  // autocannon instances the fixed rate is split over, started evenly across one second (see
  // load-worker.ts: one instance sends each connection's quota in a burst every second).
  readonly rate_lanes: number;
  // Waiting for the outbox relay to catch up between the saturation and the fixed-rate phase.
  readonly settle_max_s: number;
  // Back-to-back baseline/authorizer pairs at the saturation's connections, ratio_pair_s each
  // side: the headline ratio is their median, since the shared host's speed drifts between the
  // long phases (0: the long phases' ratio).
  readonly ratio_pairs: number;
  readonly ratio_pair_s: number;
  // Directory for a V8 CPU profile of the authorizer process; unset: no profiling.
  readonly cpu_prof_dir: string | undefined;
  readonly log_level: 'info' | 'warn' | 'error';
}

export function integerFromEnv(name: string, fallback: number, min: number, max: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  assert.ok(
    Number.isSafeInteger(value) && value >= min && value <= max,
    `${name} must be an integer from ${min} to ${max}, got ${text}`,
  );
  return value;
}

export function readSettings(): BenchSettings {
  const duration_s = integerFromEnv('BENCH_DURATION_S', 10, 1, 60);
  const level = process.env.BENCH_LOG_LEVEL ?? 'info';
  assert.ok(
    level === 'info' || level === 'warn' || level === 'error',
    'BENCH_LOG_LEVEL: info, warn or error',
  );
  const cpu_prof_dir = process.env.BENCH_CPU_PROF_DIR;
  return {
    duration_s,
    warmup_s: integerFromEnv('BENCH_WARMUP_S', Math.min(3, duration_s), 0, 30),
    cards: integerFromEnv('BENCH_CARDS', 10_000, 64, 200_000),
    connections: integerFromEnv('BENCH_CONNECTIONS', 50, 1, 1_000),
    rate_per_s: integerFromEnv('BENCH_RATE', 2_000, 1, 100_000),
    rate_lanes: integerFromEnv('BENCH_RATE_LANES', 20, 1, 100),
    settle_max_s: integerFromEnv('BENCH_SETTLE_MAX_S', 15, 0, 60),
    ratio_pairs: integerFromEnv('BENCH_RATIO_PAIRS', 3, 0, 9),
    ratio_pair_s: integerFromEnv('BENCH_RATIO_PAIR_S', Math.min(3, duration_s), 1, 30),
    cpu_prof_dir: cpu_prof_dir === undefined || cpu_prof_dir === '' ? undefined : cpu_prof_dir,
    log_level: level,
  };
}

// The latency-vs-load sweep (sweep-bench.ts): the authorizer at several fixed offered rates.
export interface SweepSettings {
  readonly base: BenchSettings;
  readonly rates_per_s: readonly number[];
  readonly phase_s: number;
}

export function readSweepSettings(): SweepSettings {
  const base = readSettings();
  const text = process.env.BENCH_SWEEP_RATES ?? '500,1000,2000,3000,4000';
  const rates_per_s = text.split(',').map((part) => Number(part.trim()));
  assert.ok(
    rates_per_s.length >= 2 &&
      rates_per_s.length <= 12 &&
      rates_per_s.every((rate) => Number.isSafeInteger(rate) && rate >= 1 && rate <= 100_000),
    `BENCH_SWEEP_RATES must list 2 to 12 integers from 1 to 100000 separated by commas, got ${text}`,
  );
  return {
    base,
    rates_per_s: [...rates_per_s].sort((a, b) => a - b),
    // Short phases: a point on a chart, not a headline figure.
    phase_s: integerFromEnv('BENCH_SWEEP_PHASE_S', Math.min(5, base.duration_s), 1, 60),
  };
}

// The end-to-end run (e2e-bench.ts): authorizer and settlement, events into the ledger.
export interface E2eSettings {
  readonly base: BenchSettings;
  readonly rate_per_s: number;
  readonly duration_s: number;
  // Shares of authorizations that a reversal, or a clearing, follows later in the run.
  readonly reversal_share: number;
  readonly clearing_share: number;
  // Requests between an authorization and its follow-up (about half a second at the rate).
  readonly follow_up_after_requests: number;
  // Longest wait for the ledger to catch up after the load stops.
  readonly drain_max_s: number;
}

export function readE2eSettings(): E2eSettings {
  const base = readSettings();
  // A rate the whole pipeline should sustain on a quiet 2-core machine (settlement's 8
  // statements per approved event share the cores with the authorizer, Redis and RabbitMQ): the lag
  // then measures the pipeline, not a queue that only grows. The drain shows the capacity.
  const rate_per_s = integerFromEnv('BENCH_E2E_RATE', 500, 1, 100_000);
  return {
    base,
    rate_per_s,
    duration_s: integerFromEnv('BENCH_E2E_DURATION_S', base.duration_s * 3, 1, 600),
    reversal_share: 0.05,
    clearing_share: 0.1,
    follow_up_after_requests: Math.max(10, Math.round(rate_per_s / 2)),
    drain_max_s: integerFromEnv('BENCH_E2E_DRAIN_MAX_S', 120, 1, 1_800),
  };
}
