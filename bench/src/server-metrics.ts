import { bucketQuantile, byLabel, difference, type Scrape, scrape, total } from './prometheus-text.ts';

// What the authorizer's own /metrics says about one phase (two scrapes differenced): where a
// decision's time went, and whether the run stayed on the hot path (no state loads).
export interface PhaseServerMetrics {
  readonly decisions_by_outcome: Readonly<Record<string, number>>;
  readonly state_lookups: Readonly<Record<string, number>>;
  readonly declines_by_reason: Readonly<Record<string, number>>;
  readonly http_mean_ms: number | null;
  readonly http_p99_bucket_ms: number | null;
  readonly decision_mean_ms: number | null;
  readonly stage_mean_ms: Readonly<Record<string, number>>;
  readonly stage_p99_bucket_ms: Readonly<Record<string, number | null>>;
  readonly cpu_ms_per_request: number | null;
  readonly outbox_backlog_after: number | null;
}

const round3 = (value: number) => Math.round(value * 1_000) / 1_000;

function meanMs(delta: Scrape, name: string, label: string, value: string): number | null {
  const sum = byLabel(delta, `${name}_sum`, label)[value] ?? 0;
  const count = byLabel(delta, `${name}_count`, label)[value] ?? 0;
  return count === 0 ? null : round3((sum / count) * 1_000);
}

function toMs(seconds: number | null): number | null {
  return seconds === null || !Number.isFinite(seconds) ? seconds : round3(seconds * 1_000);
}

export function phaseServerMetrics(before: Scrape, after: Scrape): PhaseServerMetrics {
  const delta = difference(after, before);
  const stages = Object.keys(byLabel(delta, 'afc_jit_stage_seconds_count', 'stage'));
  const stage_mean_ms: Record<string, number> = {};
  const stage_p99_bucket_ms: Record<string, number | null> = {};
  for (const stage of stages) {
    const mean = meanMs(delta, 'afc_jit_stage_seconds', 'stage', stage);
    if (mean !== null) stage_mean_ms[stage] = mean;
    stage_p99_bucket_ms[stage] = toMs(bucketQuantile(delta, 'afc_jit_stage_seconds', 'stage', stage, 0.99));
  }
  const decisions = byLabel(delta, 'afc_jit_decision_seconds_count', 'outcome');
  const decision_count = Object.values(decisions).reduce((sum, count) => sum + count, 0);
  const decision_sum = total(delta, 'afc_jit_decision_seconds_sum');
  const http_count = byLabel(delta, 'http_request_duration_seconds_count', 'route')['/v1/jit'] ?? 0;
  const cpu_s = total(delta, 'process_cpu_seconds_total');
  return {
    decisions_by_outcome: decisions,
    state_lookups: byLabel(delta, 'afc_jit_state_lookups_total', 'result'),
    declines_by_reason: byLabel(delta, 'afc_jit_declines_total', 'decline_reason'),
    http_mean_ms: meanMs(delta, 'http_request_duration_seconds', 'route', '/v1/jit'),
    http_p99_bucket_ms: toMs(
      bucketQuantile(delta, 'http_request_duration_seconds', 'route', '/v1/jit', 0.99),
    ),
    decision_mean_ms: decision_count === 0 ? null : round3((decision_sum / decision_count) * 1_000),
    stage_mean_ms,
    stage_p99_bucket_ms,
    cpu_ms_per_request: http_count === 0 ? null : round3((cpu_s * 1_000) / http_count),
    outbox_backlog_after: total(after, 'afc_outbox_backlog'),
  };
}

export { scrape };

// The authorizer's view of its dependencies (GET /ready): whether RabbitMQ was reachable, i.e.
// whether the outbox relay's publishing was part of what the run measured.
export async function dependencyStatus(url: string): Promise<Record<string, string> | null> {
  try {
    const response = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(5_000) });
    const report = (await response.json()) as { services?: Record<string, { status?: string }> };
    const statuses: Record<string, string> = {};
    for (const [name, entry] of Object.entries(report.services ?? {})) statuses[name] = entry.status ?? '?';
    return statuses;
  } catch {
    return null;
  }
}
