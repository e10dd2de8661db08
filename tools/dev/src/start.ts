// `npm start`: runs every service of the platform on this machine (services/*/src/server.ts
// and tools/marqeta-sim when present), each as its own Node process resolving workspace
// packages from source, and stops them all gracefully on Ctrl-C or SIGTERM.
// Infrastructure and migrations are handled by tools/dev/run.sh before this runs.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createLogger } from '@afc/log';

const root = resolve(import.meta.dirname, '../../..');
const logger = createLogger({ name: 'platform' });
const shutdown_timeout_ms = 15_000;

interface Runnable {
  readonly name: string;
  readonly entry: string;
}

function findRunnables(): Runnable[] {
  const runnables: Runnable[] = [];
  for (const folder of ['tools', 'services']) {
    const dir = join(root, folder);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      const entry = join(dir, name, 'src', 'server.ts');
      if (existsSync(entry)) runnables.push({ name, entry });
    }
  }
  return runnables;
}

function startOne(runnable: Runnable): ChildProcess {
  const child = spawn(process.execPath, ['--conditions=@afc/source', runnable.entry], {
    cwd: root,
    env: process.env,
    stdio: ['ignore', 'inherit', 'inherit'],
    // A group of its own: Ctrl-C reaches only this starter, which then stops each service
    // exactly once (a second signal would make a service abandon its graceful shutdown).
    detached: true,
  });
  child.on('exit', (code, signal) => {
    logger.info({ service: runnable.name, code, signal }, 'service exited');
  });
  return child;
}

const runnables = findRunnables();
if (runnables.length === 0) {
  logger.warn('no services to start yet: infrastructure is up and migrations are applied');
  process.exit(0);
}
const children = runnables.map((runnable) => ({ runnable, child: startOne(runnable) }));
logger.info({ services: runnables.map((r) => r.name) }, 'platform starting; Ctrl-C stops it');

let stopping = false;
function stopAll(signal: NodeJS.Signals): void {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping every service');
  for (const { child } of children) child.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const { child } of children) if (child.exitCode === null) child.kill('SIGKILL');
    process.exit(1);
  }, shutdown_timeout_ms);
  timer.unref();
}
process.on('SIGINT', stopAll);
process.on('SIGTERM', stopAll);

await Promise.all(children.map(({ child }) => new Promise((done) => child.once('exit', done))));
process.exit(stopping ? 0 : 1);
