import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

// The parts of results/latest-{authorizer,sweep,e2e}.json the combined report reads, checked
// when read (a results file from an older benchmark version says what it lacks instead of
// rendering "undefined"), and the report's own input, kept as results/latest-report.json.

const Ms = Type.Union([Type.Number(), Type.Null()]);
const Latency = Type.Object({
  p50: Type.Number(),
  p90: Type.Number(),
  p99: Type.Number(),
  p999: Type.Number(),
  max: Type.Number(),
});
const NullableLatency = Type.Union([Latency, Type.Null()]);

export const MachineSchema = Type.Object({
  cpu_model: Type.String(),
  cpus: Type.Number(),
  total_memory_bytes: Type.Number(),
  node: Type.String(),
  platform: Type.String(),
  date: Type.String(),
  loadavg_at_start: Type.Array(Type.Number()),
  loadavg_at_end: Type.Array(Type.Number()),
  git: Type.Object({
    commit: Type.Union([Type.String(), Type.Null()]),
    dirty_files: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
  }),
});
export type MachineSummary = Static<typeof MachineSchema>;

const AuthorizerPhase = Type.Object({
  load: Type.Object({
    connections: Type.Number(),
    overall_rate: Type.Union([Type.Number(), Type.Null()]),
    req_per_s: Type.Number(),
    latency_ms: NullableLatency,
  }),
});

export const RatioPair = Type.Object({
  baseline_per_s: Type.Number(),
  authorizer_per_s: Type.Number(),
  ratio: Type.Number(),
  // Failed requests of both phases of the pair (counted in the headline's errors); older
  // results lack it.
  errors: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type RatioPair = Static<typeof RatioPair>;

export const AuthorizerResults = Type.Object({
  ratio: Type.Number(),
  // Since the ratio became the median of back-to-back pairs; older results lack both.
  ratio_of_long_phases: Type.Optional(Type.Number()),
  p50_ms: Ms,
  p99_ms: Ms,
  p99_at_2000_ms: Ms,
  errors: Type.Number(),
  approved: Type.Number(),
  declined: Type.Number(),
  decline_rate: Type.Number(),
  met: Type.Object({
    ratio: Type.Boolean(),
    p99_ms: Type.Boolean(),
    p99_at_2000_ms: Type.Boolean(),
    errors: Type.Boolean(),
  }),
  settings: Type.Object({ duration_s: Type.Number(), rate_per_s: Type.Number(), cards: Type.Number() }),
  phases: Type.Object({
    baseline_50: AuthorizerPhase,
    authorizer_50: AuthorizerPhase,
    authorizer_rate: AuthorizerPhase,
    ratio_pairs: Type.Optional(Type.Array(RatioPair)),
  }),
  machine: MachineSchema,
});
export type AuthorizerResults = Static<typeof AuthorizerResults>;

export const SweepPointSchema = Type.Object({
  offered_per_s: Type.Number(),
  achieved_per_s: Type.Number(),
  connections: Type.Number(),
  latency_ms: NullableLatency,
  errors: Type.Number(),
});

export const SweepResults = Type.Object({
  points: Type.Array(SweepPointSchema),
  settings: Type.Object({ phase_s: Type.Number() }),
  machine: MachineSchema,
});
export type SweepResults = Static<typeof SweepResults>;

export const E2eResults = Type.Object({
  rate_per_s: Type.Number(),
  duration_s: Type.Number(),
  events_decided: Type.Number(),
  decided_per_s: Type.Number(),
  settled_per_s: Type.Number(),
  lag_ms: NullableLatency,
  backlog_at_end: Type.Object({ events: Type.Number(), outbox: Type.Number(), queue_waiting: Type.Number() }),
  drain: Type.Object({
    drained: Type.Boolean(),
    time_to_drain_ms: Type.Number(),
    settled_per_s: Ms,
    left: Type.Number(),
  }),
  ledger: Type.Object({ events_expected: Type.Number(), settled: Type.Number(), parked: Type.Number() }),
  jit: Type.Object({
    latency_ms: NullableLatency,
    approved: Type.Number(),
    declined: Type.Number(),
    errors: Type.Number(),
  }),
  seed: Type.Object({ cards: Type.Number() }),
  machine: MachineSchema,
});
export type E2eResults = Static<typeof E2eResults>;

// What latest-report.md and the README section are rendered from: each benchmark's latest
// results (null when that benchmark has not run), as read.
export const ReportInput = Type.Object({
  generated_at: Type.String(),
  authorizer: Type.Union([AuthorizerResults, Type.Null()]),
  sweep: Type.Union([SweepResults, Type.Null()]),
  e2e: Type.Union([E2eResults, Type.Null()]),
});
export type ReportInput = Static<typeof ReportInput>;

export class ResultsShapeError extends Error {
  readonly code = 'AFC_BENCH_RESULTS_SHAPE';
}

// Only the schema's own properties are kept: the report input stays small and stable.
export function readAs<T extends TSchema>(schema: T, value: unknown, what: string): Static<T> {
  if (!Value.Check(schema, value)) {
    const first = Value.Errors(schema, value).First();
    throw new ResultsShapeError(`${what}: ${first?.path || '/'} ${first?.message ?? 'does not match'}`);
  }
  return Value.Clean(schema, Value.Clone(value)) as Static<T>;
}
