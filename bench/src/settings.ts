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
  // Directory for a V8 CPU profile of the authorizer process; unset: no profiling.
  readonly cpu_prof_dir: string | undefined;
  readonly log_level: 'info' | 'warn' | 'error';
}

function integerFromEnv(name: string, fallback: number, min: number, max: number): number {
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
    cpu_prof_dir: cpu_prof_dir === undefined || cpu_prof_dir === '' ? undefined : cpu_prof_dir,
    log_level: level,
  };
}
