import { execFileSync } from 'node:child_process';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import type { PhaseResult } from './load-protocol.ts';

// Speed targets from the issue: reported beside the measurements, never enforced.
export const targets = { ratio_min: 0.6, p99_ms_max: 15, p99_at_rate_ms_max: 5, errors_max: 0 } as const;

export interface Machine {
  readonly cpu_model: string;
  readonly cpus: number;
  readonly total_memory_bytes: number;
  readonly node: string;
  readonly platform: string;
  readonly date: string;
  readonly loadavg_at_start: readonly number[];
  readonly loadavg_at_end: readonly number[];
  // The working tree measured: the commit, and whether files differed from it (a shared checkout).
  readonly git: { readonly commit: string | null; readonly dirty_files: number | null };
}

function git(args: readonly string[]): string | null {
  try {
    return execFileSync('git', args, {
      encoding: 'utf8',
      timeout: 5_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return null;
  }
}

export function describeMachine(loadavg_at_start: readonly number[], date: Date): Machine {
  const cpus = os.cpus();
  const status = git(['status', '--porcelain', '--untracked-files=no']);
  return {
    cpu_model: cpus[0]?.model ?? 'unknown',
    cpus: cpus.length,
    total_memory_bytes: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    date: date.toISOString(),
    loadavg_at_start: loadavg_at_start.map((value) => Math.round(value * 100) / 100),
    loadavg_at_end: os.loadavg().map((value) => Math.round(value * 100) / 100),
    git: {
      commit: git(['rev-parse', 'HEAD'])?.trim() ?? null,
      dirty_files: status === null ? null : status.split('\n').filter((line) => line !== '').length,
    },
  };
}

// Anything but an approval (200) or a decline (402), plus sockets that failed or timed out.
export function phaseErrors(phase: PhaseResult): number {
  const unexpected = Object.entries(phase.status_counts)
    .filter(([status]) => status !== '200' && status !== '402')
    .reduce((sum, [, count]) => sum + count, 0);
  return unexpected + phase.socket_errors + phase.timeouts;
}

export interface Headline {
  readonly ratio: number;
  // null: no decision answered in that phase.
  readonly p50_ms: number | null;
  readonly p99_ms: number | null;
  readonly p99_at_rate_ms: number | null;
  readonly rate_per_s: number;
  readonly errors: number;
}

export function summaryLine(h: Headline): string {
  return (
    `authorizer/baseline ratio ${h.ratio.toFixed(2)} at 50 conns; p50 ${h.p50_ms ?? 'n/a'} ms, ` +
    `p99 ${h.p99_ms ?? 'n/a'} ms at 50 conns; p99 ${h.p99_at_rate_ms ?? 'n/a'} ms at ${h.rate_per_s} req/s; ` +
    `errors ${h.errors}`
  );
}

export function fileStamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[:]/g, '-')
    .replace(/\.\d{3}Z$/, 'Z');
}

// Written whole then renamed: a reader never sees half a file.
export async function writeFiles(
  directory: URL,
  files: readonly (readonly [string, string])[],
): Promise<void> {
  await mkdir(directory, { recursive: true });
  for (const [name, text] of files) {
    const target = new URL(name, directory);
    const temporary = new URL(`${name}.tmp`, directory);
    await writeFile(temporary, text, 'utf8');
    await rename(temporary, target);
  }
}

export async function writeResults(
  directory: URL,
  results: Record<string, unknown>,
  markdown: string,
  date: Date,
): Promise<string> {
  const stamp = fileStamp(date);
  const json = `${JSON.stringify(results, null, 2)}\n`;
  await writeFiles(directory, [
    [`authorizer-${stamp}.json`, json],
    ['latest-authorizer.json', json],
    ['latest-authorizer.md', markdown],
  ]);
  return `authorizer-${stamp}.json`;
}
