import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  readme_end_marker,
  readme_start_marker,
  renderReadmeSection,
  renderReport,
  replaceSection,
} from './combined-report.ts';
import { writeFiles } from './report.ts';
import { AuthorizerResults, E2eResults, ReportInput, readAs, SweepResults } from './report-input.ts';

// Reading the latest results, writing the combined report and the README section.

export const readme_path = fileURLToPath(new URL('../../README.md', import.meta.url));
export const default_results_directory = new URL('../results/', import.meta.url);

async function readJson(directory: URL, name: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(new URL(name, directory), 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export async function assembleReport(directory: URL, now: Date): Promise<ReportInput> {
  const [authorizer, sweep, e2e] = await Promise.all([
    readJson(directory, 'latest-authorizer.json'),
    readJson(directory, 'latest-sweep.json'),
    readJson(directory, 'latest-e2e.json'),
  ]);
  return {
    generated_at: now.toISOString(),
    authorizer: authorizer === null ? null : readAs(AuthorizerResults, authorizer, 'latest-authorizer.json'),
    sweep: sweep === null ? null : readAs(SweepResults, sweep, 'latest-sweep.json'),
    e2e: e2e === null ? null : readAs(E2eResults, e2e, 'latest-e2e.json'),
  };
}

// The report input the README section was rendered from (null: none yet).
export async function readReportInput(directory: URL): Promise<ReportInput | null> {
  const stored = await readJson(directory, 'latest-report.json');
  return stored === null ? null : readAs(ReportInput, stored, 'latest-report.json');
}

// latest-report.json and latest-report.md in the directory; the README section too when a
// README path is given (not for development runs into another directory).
export async function writeReport(directory: URL, readme: string | null, now: Date): Promise<ReportInput> {
  const input = await assembleReport(directory, now);
  await writeFiles(directory, [
    ['latest-report.json', `${JSON.stringify(input, null, 2)}\n`],
    ['latest-report.md', renderReport(input)],
  ]);
  if (readme !== null) {
    const text = await readFile(readme, 'utf8');
    const updated = replaceSection(text, readme_start_marker, readme_end_marker, renderReadmeSection(input));
    if (updated !== text) await writeFile(readme, updated, 'utf8');
  }
  return input;
}
