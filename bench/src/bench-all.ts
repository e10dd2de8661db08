import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { readme_path, writeReport } from './report-files.ts';
import { resultsDirectory } from './run-setup.ts';

// `pnpm bench`: the authorizer benchmark, the latency-vs-load sweep and the end-to-end run,
// one after another, each its own process (own seed, own servers, own cleanup), then the
// combined report and the README section. A failed benchmark stops the run before the report:
// the README never mixes a fresh run with a stale one unnoticed (`pnpm bench:report` renders
// whatever is latest, on purpose).

const benchmarks = ['authorizer-bench.ts', 'sweep-bench.ts', 'e2e-bench.ts'] as const;

// Ctrl-C reaches the running benchmark directly (same process group), which cleans up and
// exits; this process only waits for it. A SIGTERM sent to this process alone is passed on.
async function runBenchmark(file: string): Promise<number | null> {
  const entry = fileURLToPath(new URL(file, import.meta.url));
  const child = spawn(process.execPath, ['--conditions=@afc/source', entry], { stdio: 'inherit' });
  const wait = () => {};
  const forward = () => child.kill('SIGTERM');
  process.on('SIGINT', wait);
  process.on('SIGTERM', forward);
  try {
    const [code] = (await once(child, 'exit')) as [number | null];
    return code;
  } finally {
    process.off('SIGINT', wait);
    process.off('SIGTERM', forward);
  }
}

for (const file of benchmarks) {
  const code = await runBenchmark(file);
  if (code !== 0) {
    process.stderr.write(`bench: ${file} failed (exit ${code}); no combined report written\n`);
    process.exit(1);
  }
}
const to_readme = process.env.BENCH_RESULTS_DIR === undefined || process.env.BENCH_RESULTS_DIR === '';
await writeReport(resultsDirectory(), to_readme ? readme_path : null, new Date());
process.stdout.write(`report: ${new URL('latest-report.md', resultsDirectory()).pathname}\n`);
