import { targets } from './report.ts';
import type {
  AuthorizerResults,
  E2eResults,
  MachineSummary,
  ReportInput,
  SweepResults,
} from './report-input.ts';

// The combined performance report (results/latest-report.md) and the README's performance
// section, both rendered from the same ReportInput: pure functions of it, so the README can be
// checked against results/latest-report.json and never drift from it.

export const readme_start_marker = '<!-- bench-report:start (generated: pnpm bench:report) -->';
export const readme_end_marker = '<!-- bench-report:end -->';

const yes = (ok: boolean) => (ok ? 'yes' : '**no**');
const ms = (value: number | null | undefined) =>
  value === null || value === undefined ? '–' : `${value} ms`;
const num = (value: number | null | undefined) =>
  value === null || value === undefined ? '–' : String(value);
const minute = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;
const seconds = (milliseconds: number) => `${(milliseconds / 1_000).toFixed(1)} s`;

export function describeMachineLine(m: MachineSummary): string {
  const memory_gib = (m.total_memory_bytes / 1024 ** 3).toFixed(1);
  return (
    `${m.cpus} × ${m.cpu_model}, ${memory_gib} GiB, Node ${m.node}, ${m.platform}; ` +
    `load average ${m.loadavg_at_start.join(' / ')} at start; commit ${m.git.commit?.slice(0, 10) ?? 'unknown'}` +
    (m.git.dirty_files ? ` + ${m.git.dirty_files} uncommitted files` : '')
  );
}

function ratioDetail(a: AuthorizerResults): string {
  const long = `${a.phases.authorizer_50.load.req_per_s} / ${a.phases.baseline_50.load.req_per_s}`;
  const pairs = a.phases.ratio_pairs ?? [];
  if (pairs.length === 0) return `(${long})`;
  return `(median of ${pairs.length} back-to-back pairs; long phases ${long})`;
}

function authorizerRows(a: AuthorizerResults): string[] {
  const conns = a.phases.authorizer_50.load.connections;
  const rate = a.settings.rate_per_s;
  return [
    `| authorizer/baseline decisions/s at ${conns} conns | ${a.ratio.toFixed(2)} ${ratioDetail(a)} | ≥ ${targets.ratio_min} | ${yes(a.met.ratio)} |`,
    `| authorizer p50 / p99 at ${conns} conns | ${ms(a.p50_ms)} / ${ms(a.p99_ms)} | p99 ≤ ${targets.p99_ms_max} ms | ${yes(a.met.p99_ms)} |`,
    `| authorizer p99 at ${rate} req/s | ${ms(a.p99_at_2000_ms)} | ≤ ${targets.p99_at_rate_ms_max} ms | ${yes(a.met.p99_at_2000_ms)} |`,
    `| authorizer errors (not 200/402, socket errors, timeouts) | ${a.errors} | ${targets.errors_max} | ${yes(a.met.errors)} |`,
  ];
}

function e2eRows(e: E2eResults): string[] {
  const lag = e.lag_ms;
  const drain = e.drain.drained
    ? seconds(e.drain.time_to_drain_ms)
    : `not drained after ${seconds(e.drain.time_to_drain_ms)} (${e.drain.left} left)`;
  return [
    `| end-to-end: events decided/s, settled/s at ${e.rate_per_s}/s offered | ${e.decided_per_s}, ${e.settled_per_s} | – | – |`,
    `| end-to-end lag p50 / p99 (decision → ledger row) | ${ms(lag?.p50)} / ${ms(lag?.p99)} | – | – |`,
    `| end-to-end backlog when the load stopped / time to drain | ${e.backlog_at_end.events} events / ${drain} | – | – |`,
    `| end-to-end events settled / JIT requests answered (warm-up included), parked | ${e.ledger.settled} / ${e.ledger.events_expected}, ${e.ledger.parked} parked | all, 0 parked | ${yes(e.ledger.settled >= e.ledger.events_expected && e.ledger.parked === 0)} |`,
  ];
}

export function headlineTable(input: ReportInput): string[] {
  const rows = ['| Measure | Measured | Target | Met |', '| --- | --- | --- | --- |'];
  if (input.authorizer !== null) rows.push(...authorizerRows(input.authorizer));
  if (input.e2e !== null) rows.push(...e2eRows(input.e2e));
  return rows;
}

export function sweepTable(sweep: SweepResults): string[] {
  const rows = [
    '| Offered req/s | Answered decisions/s | Conns | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const p of sweep.points) {
    const l = p.latency_ms;
    rows.push(
      `| ${p.offered_per_s} | ${p.achieved_per_s} | ${p.connections} | ${num(l?.p50)} | ${num(l?.p90)} | ${num(l?.p99)} | ${num(l?.p999)} | ${num(l?.max)} | ${p.errors} |`,
    );
  }
  return rows;
}

export function e2eTable(e: E2eResults): string[] {
  const lag = e.lag_ms;
  const jit = e.jit.latency_ms;
  return [
    '| End-to-end | Value |',
    '| --- | --- |',
    `| offered rate, duration | ${e.rate_per_s}/s for ${e.duration_s} s (${e.seed.cards} cards) |`,
    `| JIT requests answered (approved / declined), errors | ${e.events_decided} (${e.jit.approved} / ${e.jit.declined}), ${e.jit.errors} errors |`,
    `| JIT latency p50 / p99 / p99.9 | ${ms(jit?.p50)} / ${ms(jit?.p99)} / ${ms(jit?.p999)} |`,
    `| decided/s, settled/s during the load | ${e.decided_per_s} / ${e.settled_per_s} |`,
    `| lag decision → ledger row p50 / p90 / p99 / p99.9 / max | ${num(lag?.p50)} / ${num(lag?.p90)} / ${num(lag?.p99)} / ${num(lag?.p999)} / ${num(lag?.max)} ms |`,
    `| backlog when the load stopped (outbox, queue) | ${e.backlog_at_end.events} events (${e.backlog_at_end.outbox} in the outbox, ${e.backlog_at_end.queue_waiting} queued) |`,
    `| time to drain, settled/s while draining | ${e.drain.drained ? seconds(e.drain.time_to_drain_ms) : `not drained (${e.drain.left} left)`}, ${num(e.drain.settled_per_s)} |`,
    `| events settled / JIT requests answered (warm-up included), parked | ${e.ledger.settled} / ${e.ledger.events_expected}, ${e.ledger.parked} |`,
  ];
}

function machineOf(input: ReportInput): MachineSummary | null {
  return input.authorizer?.machine ?? input.sweep?.machine ?? input.e2e?.machine ?? null;
}

function runDates(input: ReportInput): string {
  const parts: string[] = [];
  if (input.authorizer !== null) parts.push(`authorizer ${minute(input.authorizer.machine.date)}`);
  if (input.sweep !== null) parts.push(`sweep ${minute(input.sweep.machine.date)}`);
  if (input.e2e !== null) parts.push(`end-to-end ${minute(input.e2e.machine.date)}`);
  return parts.join(', ');
}

export function renderReport(input: ReportInput): string {
  const machine = machineOf(input);
  const lines = [`# Performance report — ${minute(input.generated_at)}`, ''];
  if (machine !== null) lines.push(`Machine: ${describeMachineLine(machine)}. Runs: ${runDates(input)}.`, '');
  lines.push(...headlineTable(input), '');
  if (input.sweep !== null) {
    lines.push(
      '## Latency against offered load (authorizer)',
      '',
      '![JIT decision latency against offered load](latest-latency.svg)',
      '',
      ...sweepTable(input.sweep),
      '',
      `${input.sweep.settings.phase_s} s per rate; latency of each decision (200 and 402) from the load generator; errors are other statuses, socket errors and answers later than 3 s.`,
      '',
    );
  }
  if (input.e2e !== null) {
    lines.push(
      '## Authorization through settlement',
      '',
      ...e2eTable(input.e2e),
      '',
      'Lag: from the event’s occurred_at (the authorizer’s decision) to its transaction_events row’s recorded_at (PostgreSQL now() in the settling transaction), over the events decided during the load.',
      '',
    );
  }
  lines.push('Details: latest-authorizer.md, latest-sweep.json, latest-e2e.json; method: ../README.md.', '');
  return lines.join('\n');
}

export function renderReadmeSection(input: ReportInput | null): string {
  if (input === null) {
    return 'No combined report yet: `pnpm bench` (about five minutes on a quiet machine) writes it here.';
  }
  const machine = machineOf(input);
  const lines = [
    `Latest \`pnpm bench\`, ${minute(input.generated_at)}${machine === null ? '' : `, on ${describeMachineLine(machine)}`}.`,
    '',
    ...headlineTable(input),
    '',
  ];
  if (input.sweep !== null) {
    lines.push(
      '![JIT decision latency against offered load](bench/results/latest-latency.svg)',
      '',
      ...sweepTable(input.sweep),
      '',
    );
  }
  lines.push(
    'Full report: [bench/results/latest-report.md](bench/results/latest-report.md); method: [bench/README.md](bench/README.md).',
  );
  return lines.join('\n');
}

// The text between the markers replaced (markers kept); an error when they are missing.
export function replaceSection(
  text: string,
  start_marker: string,
  end_marker: string,
  section: string,
): string {
  const start = text.indexOf(start_marker);
  const end = text.indexOf(end_marker);
  if (start === -1 || end < start) throw new Error(`missing ${start_marker} ... ${end_marker}`);
  return `${text.slice(0, start + start_marker.length)}\n${section}\n${text.slice(end)}`;
}

export function sectionOf(text: string, start_marker: string, end_marker: string): string | null {
  const start = text.indexOf(start_marker);
  const end = text.indexOf(end_marker);
  if (start === -1 || end < start) return null;
  return text.slice(start + start_marker.length + 1, end - 1);
}
