import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// infra.sh runs from a scratch copy of the repository layout, so that its .local/infra.env is
// the test's. The local PostgreSQL, Redis and RabbitMQ answer (as for every test here); a stub
// `docker` on PATH stands for an engine whose compose project may or may not run PostgreSQL.
const run = promisify(execFile);
const script = new URL('../infra.sh', import.meta.url).pathname;

const stubDocker = `#!/usr/bin/env bash
echo "docker $*" >>"$STUB_LOG"
case "$1" in
  info) [ -n "$STUB_ENGINE" ] && exit 0; exit 1 ;;
  compose)
    case "$2" in
      version) exit 0 ;;
      ps) [ -n "$STUB_PG_ID" ] && echo "$STUB_PG_ID"; exit 0 ;;
      up) exit 0 ;;
    esac ;;
  inspect) echo true; exit 0 ;;
esac
exit 1
`;

// The servers every test file shares must never be started, stopped or killed from here: if a
// probe of infra.sh misses on a busy machine, it finds these stubs, which only log and fail,
// and the test fails on its own instead of restarting the broker under every other file.
const guardedCommands = [
  'pg_ctlcluster',
  'redis-server',
  'rabbitmq-server',
  'rabbitmqctl',
  'pkill',
  'apt-get',
  'sudo',
];
const stubRefusal = `#!/usr/bin/env bash
echo "refused $(basename "$0") $*" >>"$STUB_LOG"
exit 1
`;

let root: string;
let infraEnv: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'afc-infra-'));
  await mkdir(join(root, 'tools/dev'), { recursive: true });
  await mkdir(join(root, 'stub'));
  await copyFile(script, join(root, 'tools/dev/infra.sh'));
  await writeFile(join(root, 'stub/docker'), stubDocker);
  await chmod(join(root, 'stub/docker'), 0o755);
  for (const command of guardedCommands) {
    await writeFile(join(root, 'stub', command), stubRefusal);
    await chmod(join(root, 'stub', command), 0o755);
  }
  infraEnv = join(root, '.local/infra.env');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function infra(stub: { engine: boolean; composePostgres: boolean }) {
  const log = join(root, 'docker.log');
  await writeFile(log, '');
  // A clean environment: no DATABASE_URL or POSTGRES_PASSWORD of the test process leaks in.
  const env = {
    PATH: `${join(root, 'stub')}:${process.env.PATH}`,
    HOME: root,
    STUB_LOG: log,
    STUB_ENGINE: stub.engine ? '1' : '',
    STUB_PG_ID: stub.composePostgres ? 'c0ffee' : '',
  };
  const { stdout } = await run('bash', [join(root, 'tools/dev/infra.sh')], { env, timeout: 60_000 });
  return { stdout, docker: await readFile(log, 'utf8') };
}

const allUp = ['infra: postgresql is up', 'infra: redis is up', 'infra: rabbitmq is up'];
const readEnv = () => readFile(infraEnv, 'utf8').catch(() => undefined);

describe('tools/dev/infra.sh when every service already answers', () => {
  it('keeps the settings of the compose PostgreSQL an earlier run started', async () => {
    await mkdir(join(root, '.local'));
    await writeFile(infraEnv, 'export DATABASE_URL=postgres://postgres:earlier@127.0.0.1:5432/x\n');
    const { stdout, docker } = await infra({ engine: true, composePostgres: true });
    expect(stdout.trim().split('\n')).toEqual(allUp);
    expect(docker).not.toContain('compose up');
    expect(await readEnv()).toBe('export DATABASE_URL=postgres://postgres:earlier@127.0.0.1:5432/x\n');
  });

  it('restores the compose settings when they are gone', async () => {
    const { stdout } = await infra({ engine: true, composePostgres: true });
    expect(stdout.trim().split('\n')).toEqual(allUp);
    expect(await readEnv()).toContain(
      'export DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/atlanticfrewaycard',
    );
  });

  it('leaves no compose settings when the PostgreSQL answering is not compose’s', async () => {
    await mkdir(join(root, '.local'));
    await writeFile(infraEnv, 'export DATABASE_URL=stale\n');
    const { stdout, docker } = await infra({ engine: true, composePostgres: false });
    expect(stdout.trim().split('\n')).toEqual(allUp);
    expect(docker).not.toContain('compose up');
    expect(await readEnv()).toBeUndefined();
  });

  it('without an engine, reports the local servers up and starts nothing', async () => {
    const { stdout, docker } = await infra({ engine: false, composePostgres: false });
    expect(stdout.trim().split('\n')).toEqual(allUp);
    expect(docker).not.toContain('compose');
    expect(await readEnv()).toBeUndefined();
  });
});
