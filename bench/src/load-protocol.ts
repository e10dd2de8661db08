import type { FollowUpOptions, TrafficCard } from './jit-traffic.ts';

// Messages between the benchmark and its load-generator process (JSON over the IPC channel).

export interface LoadInit {
  readonly type: 'init';
  readonly cards: readonly TrafficCard[];
  readonly authorization: string;
  readonly token_prefix: string;
  readonly decline_share: number;
}

export interface PhaseSpec {
  readonly name: string;
  readonly url: string;
  readonly connections: number;
  readonly duration_s: number;
  // Fixed offered rate over all connections (autocannon overallRate); absent: as fast as answered.
  readonly overall_rate?: number;
  // The rate split over this many autocannon instances started evenly across one second.
  readonly lanes?: number;
  readonly seed: number;
  // Seconds without an answer after which a request counts as a timeout (Marqeta waits 3 s).
  readonly timeout_s: number;
  // Some authorizations followed by a reversal or a clearing (end-to-end run); absent: only
  // authorizations.
  readonly follow_ups?: FollowUpOptions;
}

export interface LoadRun {
  readonly type: 'run';
  readonly phase: PhaseSpec;
}

export interface Latency {
  readonly min: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

export interface PhaseResult {
  readonly name: string;
  readonly connections: number;
  readonly overall_rate: number | null;
  readonly lanes: number;
  readonly duration_s: number;
  readonly sent: number;
  readonly responses: number;
  // Answers that are decisions: 200 (approve) and 402 (decline).
  readonly decisions: number;
  // Decisions per second: what the server really got done (a 503 is not work done).
  readonly req_per_s: number;
  readonly responses_per_s: number;
  // From each response's own timing, microsecond resolution: decisions only (402s included),
  // and every response. null when there were none.
  readonly latency_ms: Latency | null;
  readonly latency_all_ms: Latency | null;
  readonly status_counts: Readonly<Record<string, number>>;
  readonly socket_errors: number;
  readonly timeouts: number;
  // autocannon's own figures, for comparison (whole-millisecond latency histogram).
  readonly autocannon: {
    readonly requests_average: number;
    readonly latency_p50_ms: number;
    readonly latency_p99_ms: number;
    readonly non2xx: number;
    readonly errors: number;
    readonly timeouts: number;
  };
}

export type WorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'result'; readonly result: PhaseResult }
  | { readonly type: 'failed'; readonly message: string };
