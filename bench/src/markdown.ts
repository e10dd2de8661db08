import type { CpuSample } from './cpu-usage.ts';
import type { PhaseResult } from './load-protocol.ts';
import type { CommandCost } from './redis-stats.ts';
import { type Machine, phaseErrors, targets } from './report.ts';
import type { RatioPair } from './report-input.ts';
import type { PhaseServerMetrics } from './server-metrics.ts';

interface Phase {
  readonly load: PhaseResult;
  readonly cpu: CpuSample;
  readonly server: PhaseServerMetrics | null;
  readonly redis_top_commands: readonly CommandCost[];
}

export interface MarkdownInput {
  readonly ratio: number;
  readonly ratio_of_long_phases: number;
  readonly p50_ms: number | null;
  readonly p99_ms: number | null;
  readonly p99_at_2000_ms: number | null;
  readonly errors: number;
  readonly approved: number;
  readonly declined: number;
  readonly decline_rate: number;
  readonly met: Readonly<Record<'ratio' | 'p99_ms' | 'p99_at_2000_ms' | 'errors', boolean>>;
  readonly settings: { readonly duration_s: number; readonly rate_per_s: number; readonly cards: number };
  readonly phases: {
    readonly baseline_50: Phase;
    readonly authorizer_50: Phase;
    readonly authorizer_rate: Phase;
    readonly ratio_pairs: readonly RatioPair[];
    readonly settle: { readonly backlog_left: number; readonly waited_ms: number };
    readonly authorizer_dependencies: {
      readonly at_start: Readonly<Record<string, string>> | null;
      readonly at_end: Readonly<Record<string, string>> | null;
    };
  };
  readonly machine: Machine;
}

const yes = (ok: boolean) => (ok ? 'yes' : '**no**');
const orDash = (value: number | null | undefined) =>
  value === null || value === undefined ? '–' : String(value);

function headline(r: MarkdownInput): string[] {
  return [
    '| Measure | Measured | Target | Met |',
    '| --- | --- | --- | --- |',
    `| authorizer/baseline req/s at ${r.phases.authorizer_50.load.connections} conns | ${r.ratio.toFixed(2)} | ≥ ${targets.ratio_min} | ${yes(r.met.ratio)} |`,
    `| p50 at ${r.phases.authorizer_50.load.connections} conns | ${orDash(r.p50_ms)} ms | – | – |`,
    `| p99 at ${r.phases.authorizer_50.load.connections} conns | ${orDash(r.p99_ms)} ms | ≤ ${targets.p99_ms_max} ms | ${yes(r.met.p99_ms)} |`,
    `| p99 at ${r.settings.rate_per_s} req/s | ${orDash(r.p99_at_2000_ms)} ms | ≤ ${targets.p99_at_rate_ms_max} ms | ${yes(r.met.p99_at_2000_ms)} |`,
    `| errors (not 200/402, socket errors, timeouts) | ${r.errors} | ${targets.errors_max} | ${yes(r.met.errors)} |`,
    `| approved / declined (decline rate) | ${r.approved} / ${r.declined} (${(r.decline_rate * 100).toFixed(1)} %) | ~10 % declined | – |`,
  ];
}

function phaseRows(r: MarkdownInput): string[] {
  const rows = [
    '| Phase | Conns | Offered | decisions/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | 200 | 402 | errors | CPU ms/req: server / Redis / RabbitMQ / load | syscalls/req: server / Redis | machine busy |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const entries: [string, Phase][] = [
    ['baseline', r.phases.baseline_50],
    ['authorizer', r.phases.authorizer_50],
    ['authorizer, fixed rate', r.phases.authorizer_rate],
  ];
  for (const [name, phase] of entries) {
    const l = phase.load;
    const lat = l.latency_ms;
    const per_request = (total: number | null | undefined, digits: number) =>
      total === null || total === undefined || l.responses === 0
        ? null
        : Math.round((total / l.responses) * 10 ** digits) / 10 ** digits;
    const syscalls = `${orDash(per_request(phase.cpu.server_syscalls, 2))} / ${orDash(per_request(phase.cpu.redis_syscalls, 2))}`;
    const cpu = ['server', 'redis', 'broker', 'load']
      .map((name) => orDash(per_request(phase.cpu[`${name}_cpu_ms`], 3)))
      .join(' / ');
    const busy =
      phase.cpu.machine_busy_share === null ? '–' : `${Math.round(phase.cpu.machine_busy_share * 100)} %`;
    rows.push(
      `| ${name} | ${l.connections} | ${l.overall_rate === null ? 'max' : `${l.overall_rate}/s`} | ${l.req_per_s} | ${orDash(lat?.p50)} | ${orDash(lat?.p90)} | ${orDash(lat?.p99)} | ${orDash(lat?.p999)} | ${orDash(lat?.max)} | ${l.status_counts['200'] ?? 0} | ${l.status_counts['402'] ?? 0} | ${phaseErrors(l)} | ${cpu} | ${syscalls} | ${busy} |`,
    );
  }
  return rows;
}

function stageRows(r: MarkdownInput): string[] {
  const rows = [
    '| Authorizer phase | HTTP mean ms (server) | script mean ms | script p99 ≤ ms | state loads (miss) | outbox backlog after |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const [name, phase] of [
    ['50 conns', r.phases.authorizer_50],
    ['fixed rate', r.phases.authorizer_rate],
  ] as const) {
    const s = phase.server;
    if (s === null) continue;
    rows.push(
      `| ${name} | ${orDash(s.http_mean_ms)} | ${orDash(s.stage_mean_ms.script)} | ${orDash(s.stage_p99_bucket_ms.script)} | ${s.state_lookups.miss ?? 0} | ${orDash(s.outbox_backlog_after)} |`,
    );
  }
  return rows;
}

function redisRows(phase: Phase): string[] {
  const rows = [
    '| Redis command (50 conns phase) | calls | total ms | µs per call |',
    '| --- | --- | --- | --- |',
  ];
  for (const cost of phase.redis_top_commands) {
    rows.push(`| ${cost.command} | ${cost.calls} | ${cost.total_ms} | ${cost.usec_per_call} |`);
  }
  return rows;
}

// Where the headline ratio comes from: the median of the back-to-back pairs, when there are any.
function ratioSource(r: MarkdownInput): string {
  const pairs = r.phases.ratio_pairs;
  const long = `long phases: ${r.ratio_of_long_phases.toFixed(2)}`;
  if (pairs.length === 0) return `Ratio of the long phases (no back-to-back pairs run).`;
  const each = pairs
    .map((p) => `${p.ratio.toFixed(2)} (${p.authorizer_per_s} / ${p.baseline_per_s} req/s)`)
    .join(', ');
  return `Ratio: median of ${pairs.length} back-to-back baseline/authorizer pairs: ${each}; ${long}.`;
}

function otherStatuses(r: MarkdownInput): string {
  const parts: string[] = [];
  for (const [name, phase] of [
    ['baseline', r.phases.baseline_50],
    ['authorizer at max', r.phases.authorizer_50],
    ['authorizer at fixed rate', r.phases.authorizer_rate],
  ] as const) {
    const other = Object.entries(phase.load.status_counts).filter(
      ([code]) => code !== '200' && code !== '402',
    );
    const detail = other.map(([code, count]) => `${count} × ${code}`);
    if (phase.load.socket_errors > 0) detail.push(`${phase.load.socket_errors} socket errors`);
    if (phase.load.timeouts > 0) detail.push(`${phase.load.timeouts} timeouts`);
    if (detail.length > 0) parts.push(`${name}: ${detail.join(', ')}`);
  }
  return parts.length === 0 ? 'Errors: none.' : `Errors: ${parts.join('; ')}.`;
}

function dependencies(statuses: Readonly<Record<string, string>> | null): string {
  if (statuses === null) return 'unknown';
  return Object.entries(statuses)
    .map(([name, status]) => `${name} ${status}`)
    .join(', ');
}

export function buildMarkdown(r: MarkdownInput): string {
  const m = r.machine;
  const memory_gib = (m.total_memory_bytes / 1024 ** 3).toFixed(1);
  return [
    `# Authorizer benchmark — ${m.date}`,
    '',
    ...headline(r),
    '',
    ratioSource(r),
    '',
    ...phaseRows(r),
    '',
    ...stageRows(r),
    '',
    otherStatuses(r),
    '',
    ...redisRows(r.phases.authorizer_50),
    '',
    `Authorizer dependencies (GET /ready) at start: ${dependencies(r.phases.authorizer_dependencies.at_start)}; ` +
      `at end: ${dependencies(r.phases.authorizer_dependencies.at_end)}.`,
    '',
    `${r.settings.cards} business cards over 64 partitions, state pre-warmed in Redis; ${r.settings.duration_s} s per phase after a warm-up. ` +
      `Latencies from the load generator, each answer's own time, decisions only (200 and 402; other statuses are errors). ` +
      `Outbox drain before the fixed-rate phase: ${r.phases.settle.waited_ms} ms (backlog left ${r.phases.settle.backlog_left}).`,
    '',
    `Machine: ${m.cpus} × ${m.cpu_model}, ${memory_gib} GiB, Node ${m.node}, ${m.platform}; ` +
      `load average ${m.loadavg_at_start.join(' / ')} at start, ${m.loadavg_at_end.join(' / ')} at end; ` +
      `commit ${m.git.commit?.slice(0, 10) ?? 'unknown'}${m.git.dirty_files ? ` + ${m.git.dirty_files} uncommitted files in the shared checkout` : ''}.`,
    '',
  ].join('\n');
}
