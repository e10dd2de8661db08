// `pnpm demo`: a scripted day of card activity against the platform `pnpm start` runs (it does
// not start one itself: a second platform would fight the first for the ports). Prints what
// happened and the final balances and counters checked against the books; exits 1 on any
// mismatch, and (saying so) when the platform is not running or not seeded.
import { resolve } from 'node:path';
import { createLogger } from '@afc/log';
import { runDemoDay } from './demo-day.ts';
import { renderDemoReport } from './demo-print.ts';
import { answersReady, localPlatform, type Platform, service_names } from './platform.ts';
import { readSeedFile, seedFilePath } from './seed-file.ts';

const root = resolve(import.meta.dirname, '../../..');
const settle_timeout_ms = 30_000;

async function platformRunning(platform: Platform): Promise<boolean> {
  const checks = await Promise.all(service_names.map((name) => answersReady(platform, name)));
  return checks.every(Boolean);
}

const platform = localPlatform(process.env);
if (!(await platformRunning(platform))) {
  process.stderr.write(
    'The platform is not running (or not ready): start it with `pnpm start` in another terminal, wait for its table, then run `pnpm demo` again.\n',
  );
  process.exit(1);
}
const seed = readSeedFile(seedFilePath(root, platform));
if (seed?.company === undefined) {
  process.stderr.write(
    'No demo seed for this database: `pnpm start` seeds it; restart the platform with it.\n',
  );
  process.exit(1);
}
const logger = createLogger({ name: 'demo', level: 'warn' });
const report = await runDemoDay({ platform, seed, logger, settle_timeout_ms });
process.stdout.write(renderDemoReport(report));
process.exit(report.ok ? 0 : 1);
