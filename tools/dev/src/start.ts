// `npm start`: runs the whole platform on this machine, wired together: marqeta-sim (our
// Marqeta), the authorizer, webhooks, settlement, card-issuer and api, each as its own Node
// process resolving workspace packages from source. Once every one is ready it configures the
// simulator's program (JIT gateway → the authorizer, webhooks → the webhooks service), seeds
// the demo program through the api, prints where everything listens, and stops all of them
// gracefully on Ctrl-C or SIGTERM. Infrastructure and migrations are handled by
// tools/dev/run.sh before this runs.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { createLogger } from '@afc/log';
import { pollUntil } from './http.ts';
import {
  answersReady,
  childEnvironment,
  localPlatform,
  type Platform,
  readyUrl,
  type ServiceName,
  service_names,
} from './platform.ts';
import { configureProgram, simClient } from './program-setup.ts';
import { printPlatformTable } from './report.ts';
import { seedDemoProgram } from './seed.ts';
import { fileSeedStore, local_directory } from './seed-file.ts';

const root = resolve(import.meta.dirname, '../../..');
const logger = createLogger({ name: 'platform' });
const shutdown_timeout_ms = 15_000;
const ready_timeout_ms = 60_000;
const logs_directory = join(root, local_directory, 'logs');

const entries: Readonly<Record<ServiceName, string>> = {
  'marqeta-sim': 'tools/marqeta-sim/src/server.ts',
  authorizer: 'services/authorizer/src/server.ts',
  webhooks: 'services/webhooks/src/server.ts',
  settlement: 'services/settlement/src/server.ts',
  'card-issuer': 'services/card-issuer/src/server.ts',
  api: 'services/api/src/server.ts',
};

interface Running {
  readonly name: ServiceName;
  readonly child: ChildProcess;
  readonly log_file: string;
  readonly exited: Promise<void>;
}

// AFC_START_LOGS=inherit streams every service's JSON log here instead of into .local/logs.
const inherit_logs = process.env.AFC_START_LOGS === 'inherit';

function startOne(platform: Platform, name: ServiceName): Running {
  const log_file = join(logs_directory, `${name}.log`);
  const output = inherit_logs ? 'inherit' : openSync(log_file, 'a');
  const child = spawn(process.execPath, ['--conditions=@afc/source', join(root, entries[name])], {
    cwd: root,
    env: childEnvironment(platform, name, process.env),
    stdio: ['ignore', output, output],
    // A group of its own: Ctrl-C reaches only this starter, which then stops each service
    // exactly once (a second signal would make a service abandon its graceful shutdown).
    detached: true,
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.on('exit', (code, signal) => {
    const level = stopping ? 'info' : 'error';
    logger[level]({ service: name, code, signal }, 'service exited');
    if (!stopping) {
      printLogTail(log_file);
      stopAll('SIGTERM', 1);
    }
  });
  return { name, child, log_file, exited };
}

function printLogTail(log_file: string): void {
  if (inherit_logs) return;
  try {
    const lines = readFileSync(log_file, 'utf8').trimEnd().split('\n').slice(-15);
    process.stderr.write(`--- last lines of ${log_file}\n${lines.join('\n')}\n---\n`);
  } catch {
    // No log yet: nothing to show.
  }
}

async function portInUse(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once('error', () => done(true));
    probe.listen({ host: '127.0.0.1', port }, () => probe.close(() => done(false)));
  });
}

async function waitReady(platform: Platform, name: ServiceName): Promise<void> {
  await pollUntil(
    `${name} ready at ${readyUrl(platform, name)}`,
    () => answersReady(platform, name),
    ready_timeout_ms,
  );
}

let stopping = false;
let running: Running[] = [];

function stopAll(signal: NodeJS.Signals, exit_code: number): void {
  if (stopping) return;
  stopping = true;
  process.exitCode = exit_code;
  logger.info({ signal }, 'stopping every service');
  for (const { child } of running) if (child.exitCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const { child } of running) if (child.exitCode === null) child.kill('SIGKILL');
    process.exit(1);
  }, shutdown_timeout_ms);
  timer.unref();
}

async function main(): Promise<void> {
  const platform = localPlatform(process.env);
  for (const name of service_names) {
    const port = Number(new URL(platform.urls[name]).port);
    if (await portInUse(port)) {
      logger.error({ service: name, port }, 'port in use: is the platform already running? stop it first');
      process.exit(1);
    }
  }
  mkdirSync(logs_directory, { recursive: true });
  process.on('SIGINT', () => stopAll('SIGINT', 0));
  process.on('SIGTERM', () => stopAll('SIGTERM', 0));
  running = service_names.map((name) => startOne(platform, name));
  logger.info({ services: service_names }, 'platform starting; Ctrl-C stops it');
  await Promise.all(service_names.map((name) => waitReady(platform, name)));
  const marqeta = simClient(platform, logger);
  try {
    await configureProgram(platform, marqeta);
    const seed = await seedDemoProgram(platform, marqeta, fileSeedStore(root, platform), logger);
    printPlatformTable(platform, seed, inherit_logs ? undefined : logs_directory);
  } finally {
    await marqeta.close();
  }
}

try {
  await main();
} catch (error) {
  logger.error({ err: error }, 'the platform could not start');
  // The reason in one plain line too: the JSON above is for the logs.
  process.stderr.write(
    `\nnpm start: the platform could not start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  stopAll('SIGTERM', 1);
}
await Promise.all(running.map(({ exited }) => exited));
process.exit(process.exitCode ?? 0);
