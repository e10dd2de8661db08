import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  readme_end_marker,
  readme_start_marker,
  renderReadmeSection,
  renderReport,
  replaceSection,
  sectionOf,
} from '../src/combined-report.ts';
import { default_results_directory, readme_path, readReportInput } from '../src/report-files.ts';
import { AuthorizerResults, type ReportInput, ResultsShapeError, readAs } from '../src/report-input.ts';

const machine = {
  cpu_model: 'Test CPU',
  cpus: 2,
  total_memory_bytes: 8 * 1024 ** 3,
  node: 'v24.0.0',
  platform: 'linux test x64',
  date: '2026-11-21T20:00:00.000Z',
  loadavg_at_start: [0.5, 0.4, 0.3],
  loadavg_at_end: [1, 0.8, 0.5],
  git: { commit: '0123456789abcdef', dirty_files: 3 },
};
const latency = { p50: 1.2, p90: 2.5, p99: 4.8, p999: 9.1, max: 20 };
const phase = (connections: number, req_per_s: number) => ({
  load: { connections, overall_rate: null, req_per_s, latency_ms: latency },
});
const authorizer = {
  ratio: 0.62,
  p50_ms: 8.1,
  p99_ms: 16.2,
  p99_at_2000_ms: 4.9,
  errors: 0,
  approved: 900,
  declined: 100,
  decline_rate: 0.1,
  met: { ratio: true, p99_ms: false, p99_at_2000_ms: true, errors: true },
  settings: { duration_s: 10, rate_per_s: 2000, cards: 10_000 },
  phases: { baseline_50: phase(50, 6000), authorizer_50: phase(50, 3720), authorizer_rate: phase(60, 2000) },
  machine,
};
const input: ReportInput = {
  generated_at: '2026-11-21T20:10:00.000Z',
  authorizer,
  sweep: {
    points: [
      { offered_per_s: 500, achieved_per_s: 500, connections: 60, latency_ms: latency, errors: 0 },
      { offered_per_s: 4000, achieved_per_s: 3300, connections: 100, latency_ms: null, errors: 12 },
    ],
    settings: { phase_s: 5 },
    machine,
  },
  e2e: {
    rate_per_s: 1000,
    duration_s: 30,
    events_decided: 30_000,
    decided_per_s: 1000,
    settled_per_s: 990,
    lag_ms: { p50: 12, p90: 30, p99: 80, p999: 120, max: 200 },
    backlog_at_end: { events: 42, outbox: 2, queue_waiting: 40 },
    drain: { drained: true, time_to_drain_ms: 1500, settled_per_s: 28, left: 0 },
    ledger: { events_expected: 33_000, settled: 33_000, parked: 0 },
    jit: { latency_ms: latency, approved: 27_000, declined: 3_000, errors: 0 },
    seed: { cards: 10_000 },
    machine,
  },
};

describe('the combined report', () => {
  it('puts the targets, the end-to-end figures and the sweep in the README section, with the chart and the machine', () => {
    const section = renderReadmeSection(input);
    expect(section).toContain(
      '| authorizer/baseline decisions/s at 50 conns | 0.62 (3720 / 6000) | ≥ 0.6 | yes |',
    );
    expect(section).toContain(
      '| authorizer p50 / p99 at 50 conns | 8.1 ms / 16.2 ms | p99 ≤ 15 ms | **no** |',
    );
    expect(section).toContain(
      '| end-to-end: events decided/s, settled/s at 1000/s offered | 1000, 990 | – | – |',
    );
    expect(section).toContain('| end-to-end lag p50 / p99 (decision → ledger row) | 12 ms / 80 ms | – | – |');
    expect(section).toContain(
      '| end-to-end backlog when the load stopped / time to drain | 42 events / 1.5 s | – | – |',
    );
    expect(section).toContain(
      '![JIT decision latency against offered load](bench/results/latest-latency.svg)',
    );
    expect(section).toContain('| 4000 | 3300 | 100 | – | – | – | – | – | 12 |');
    expect(section).toContain('2 × Test CPU, 8.0 GiB, Node v24.0.0, linux test x64');
    expect(section).toContain('commit 0123456789 + 3 uncommitted files');
  });

  it('says the ratio is the median of back-to-back pairs when the run measured them', () => {
    const pairs = [
      { baseline_per_s: 6000, authorizer_per_s: 3600, ratio: 0.6 },
      { baseline_per_s: 5000, authorizer_per_s: 3100, ratio: 0.62 },
      { baseline_per_s: 7000, authorizer_per_s: 4550, ratio: 0.65 },
    ];
    const with_pairs = {
      ...authorizer,
      ratio_of_long_phases: 0.62,
      phases: { ...authorizer.phases, ratio_pairs: pairs },
    };
    expect(renderReadmeSection({ ...input, authorizer: with_pairs })).toContain(
      '| authorizer/baseline decisions/s at 50 conns | 0.62 (median of 3 back-to-back pairs; long phases 3720 / 6000) | ≥ 0.6 | yes |',
    );
    expect(() => readAs(AuthorizerResults, with_pairs, 'latest-authorizer.json')).not.toThrow();
  });

  it('renders the full report with the chart beside it and the sections of the benchmarks that ran', () => {
    const report = renderReport({ ...input, authorizer: null });
    expect(report).toContain('![JIT decision latency against offered load](latest-latency.svg)');
    expect(report).toContain(
      '| lag decision → ledger row p50 / p90 / p99 / p99.9 / max | 12 / 30 / 80 / 120 / 200 ms |',
    );
    expect(report).not.toContain('authorizer/baseline');
  });

  it('says when the ledger did not catch up or messages were parked', () => {
    const stuck = {
      ...input.e2e,
      drain: { drained: false, time_to_drain_ms: 120_000, settled_per_s: 0, left: 300 },
      ledger: { events_expected: 33_000, settled: 32_700, parked: 300 },
    } as NonNullable<ReportInput['e2e']>;
    const section = renderReadmeSection({ ...input, e2e: stuck });
    expect(section).toContain('| 42 events / not drained after 120.0 s (300 left) |');
    expect(section).toContain('| 32700 / 33000, 300 parked | all, 0 parked | **no** |');
  });

  it('says what a results file lacks instead of rendering it', () => {
    const { ratio: _left_out, ...rest } = authorizer;
    expect(() => readAs(AuthorizerResults, rest, 'latest-authorizer.json')).toThrow(ResultsShapeError);
    expect(() => readAs(AuthorizerResults, rest, 'latest-authorizer.json')).toThrow(
      /latest-authorizer.json: \/ratio/,
    );
  });

  it('replaces only the text between the markers', () => {
    const text = `before\n${readme_start_marker}\nold\n${readme_end_marker}\nafter\n`;
    const updated = replaceSection(text, readme_start_marker, readme_end_marker, 'new\ntable');
    expect(updated).toBe(`before\n${readme_start_marker}\nnew\ntable\n${readme_end_marker}\nafter\n`);
    expect(sectionOf(updated, readme_start_marker, readme_end_marker)).toBe('new\ntable');
    expect(() => replaceSection('no markers', readme_start_marker, readme_end_marker, 'x')).toThrow(
      /missing/,
    );
  });

  it('README.md shows the latest combined report (pnpm bench:report rewrites it)', async () => {
    const readme = await readFile(readme_path, 'utf8');
    const stored = await readReportInput(default_results_directory);
    expect(sectionOf(readme, readme_start_marker, readme_end_marker)).toBe(renderReadmeSection(stored));
  });
});
