import { readme_path, writeReport } from './report-files.ts';
import { resultsDirectory } from './run-setup.ts';

// `pnpm bench:report`: the combined report (results/latest-report.{json,md}) and the README's
// performance section from the latest results of each benchmark. `pnpm bench` ends with it.
// With BENCH_RESULTS_DIR (development runs) the README is left alone.

const directory = resultsDirectory();
const to_readme = process.env.BENCH_RESULTS_DIR === undefined || process.env.BENCH_RESULTS_DIR === '';
await writeReport(directory, to_readme ? readme_path : null, new Date());
process.stdout.write(
  `report written to ${new URL('latest-report.md', directory).pathname}${to_readme ? ' and README.md' : ''}\n`,
);
