import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { deleteTopology, product_topology } from '@afc/amqp';
import { type CardStateStore, createCardState } from '@afc/card-state';
import { createLogger } from '@afc/log';
import { formatMinor } from '@afc/money';
import { createPostgres, type PostgresClient } from '@afc/postgres';
import {
  createTestDatabase,
  createTestRedisPrefix,
  localServiceUrls,
  type TestDatabase,
  type TestRedisPrefix,
  uniqueTestId,
  waitUntil,
} from '@afc/testkit';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic_auth, jit_password, jit_username, jitBody } from './harness.ts';
import { type SeededCard, seedBusinessCard } from './seed.ts';

// Two real authorizer processes (the server entry point, as deployed) sharing one Redis and
// one database: the limit is enforced by the script in Redis, not by anything in a process.

const repository_root = fileURLToPath(new URL('../../../', import.meta.url));
const partitions = 64;
const daily_limit_minor = 10_000;
const requests = 200;
const opening_requests = 40;
const max_log_lines = 200;

interface AuthorizerProcess {
  readonly child: ChildProcess;
  readonly origin: string;
  readonly pool: Pool;
  readonly output: string[];
  readonly exit: Promise<number | null>;
}

let database: TestDatabase;
let redis_prefix: TestRedisPrefix;
let postgres: PostgresClient;
let redis: Redis;
let store: CardStateStore;
const processes: AuthorizerProcess[] = [];
const logger = createLogger({
  name: 'two-processes-test',
  level: 'warn',
  destination: new Writable({ write: (_chunk, _encoding, done) => done() }),
});

// The child listens on port 0 (the kernel's free port, never one another test could take in
// between) and says which in its `listening` log line.
const listening_line = /"address":"http:\/\/127\.0\.0\.1:(\d+)"[^\n]*"msg":"listening"/;

async function startProcess(namespace: string): Promise<AuthorizerProcess> {
  const child = spawn(process.execPath, ['--conditions=@afc/source', 'services/authorizer/src/server.ts'], {
    cwd: repository_root,
    // Only what the service reads: nothing of this runner's environment leaks into its config.
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: database.url,
      REDIS_URL: localServiceUrls.redis,
      REDIS_KEY_PREFIX: redis_prefix.prefix,
      REDIS_PARTITIONS: String(partitions),
      AMQP_URL: localServiceUrls.amqp,
      AMQP_NAMESPACE: namespace,
      JIT_BASIC_USERNAME: jit_username,
      JIT_BASIC_PASSWORD: jit_password,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      PG_POOL_MAX: '4',
      // Two cores run both processes and this runner: the limit must decide these requests,
      // not the production deadline (250 ms) under a load no production host would see.
      DECISION_DEADLINE_MS: '2000',
      REDIS_COMMAND_TIMEOUT_MS: '1500',
      // Cold processes beside this runner on two cores: a slow sample must not shed the burst.
      SHED_EVENT_LOOP_DELAY_MS: '5000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  let port: number | undefined;
  let unread = '';
  // Bounded: the last chunks, shown when a process fails to start or to stop.
  const keep = (chunk: Buffer) => {
    output.push(String(chunk));
    if (output.length > max_log_lines) output.shift();
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    keep(chunk);
    if (port !== undefined) return;
    // Lines may arrive split across chunks; only the unfinished last line is kept.
    const lines = (unread + String(chunk)).split('\n');
    unread = lines.pop() ?? '';
    for (const line of lines) {
      const found = listening_line.exec(line)?.[1];
      if (found !== undefined) port = Number(found);
    }
  });
  child.stderr?.on('data', keep);
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  await waitUntil(
    () => {
      if (child.exitCode !== null) throw new Error(`authorizer exited ${child.exitCode}: ${output.join('')}`);
      return port !== undefined;
    },
    { timeout_ms: 25_000, interval_ms: 100, message: 'authorizer listening' },
  );
  const origin = `http://127.0.0.1:${port}`;
  const started: AuthorizerProcess = {
    child,
    origin,
    pool: new Pool(origin, { connections: 32 }),
    output,
    exit,
  };
  processes.push(started);
  await waitUntil(
    async () => {
      if (child.exitCode !== null) throw new Error(`authorizer exited ${child.exitCode}: ${output.join('')}`);
      const response = await fetch(`${origin}/health`).catch(() => undefined);
      return response?.status === 200;
    },
    { timeout_ms: 25_000, interval_ms: 100, message: `authorizer on ${origin} healthy` },
  );
  return started;
}

async function stopProcess(running: AuthorizerProcess): Promise<number | null> {
  if (!running.pool.closed) await running.pool.close();
  if (running.child.exitCode === null) running.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), 15_000);
  });
  const code = await Promise.race([running.exit, bound]);
  clearTimeout(timer);
  if (code === 'timeout') {
    running.child.kill('SIGKILL');
    throw new Error(`authorizer ${running.origin} did not exit after SIGTERM: ${running.output.join('')}`);
  }
  return code;
}

let namespace: string | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
  redis_prefix = createTestRedisPrefix();
  namespace = uniqueTestId('az2p');
  // One at a time: the first migrates the database, the second finds it migrated.
  await startProcess(namespace);
  await startProcess(namespace);
  postgres = createPostgres(
    { url: database.url, application_name: 'two-processes-test', max_connections: 2 },
    logger,
  );
  redis = new Redis(localServiceUrls.redis, { keyPrefix: redis_prefix.prefix, maxRetriesPerRequest: 1 });
  store = await createCardState({ redis, partitions, refund_mode: 'counters_unchanged', logger });
}, 60_000);

afterAll(async () => {
  // Processes the shutdown test did not reach (a failure before it): stopped all the same, and
  // a graceful exit is still required of them.
  const left = processes.filter(
    (running) => running.child.exitCode === null && running.child.signalCode === null,
  );
  const codes = await Promise.allSettled(left.map(stopProcess));
  redis?.disconnect();
  await postgres?.close(5_000);
  await redis_prefix?.cleanup();
  await database?.drop();
  if (namespace !== undefined)
    await deleteTopology(localServiceUrls.amqp, { ...product_topology, namespace });
  for (const code of codes) expect(code).toEqual({ status: 'fulfilled', value: 0 });
});

async function authorize(running: AuthorizerProcess, card: SeededCard, amount_minor: number) {
  const body = jitBody({ ...card, amount: formatMinor(amount_minor, 'USD') });
  const response = await running.pool.request({
    method: 'POST',
    path: '/v1/jit',
    headers: { authorization: basic_auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const json = (await response.body.json()) as { jit_funding: { decline_reason?: string; memo?: string } };
  return { status: response.statusCode, amount_minor, ...json.jit_funding };
}

// `count` requests at once, alternating between the processes, random amounts of 1-200 minor.
function burst(card: SeededCard, count: number) {
  return Promise.all(
    Array.from({ length: count }, (_unused, index) => {
      const process_index = index % processes.length;
      const running = processes[process_index];
      if (running === undefined) throw new Error('no process');
      const amount_minor = 1 + Math.floor(Math.random() * 200);
      return authorize(running, card, amount_minor).then((answer) => ({ ...answer, process: process_index }));
    }),
  );
}

describe('two authorizer processes on one Redis', () => {
  it('never approve past a daily limit together, and counters equal what they approved', async () => {
    const card = await seedBusinessCard(postgres.sql, { controls: { daily_limit_minor } });
    // Opening: both processes miss the card and load it from the database at once; the 40
    // requests (at most 8_000 minor) fit under the limit, so every one must be approved, by
    // both processes. Then the rest, all at once, race past the limit.
    const opening = await burst(card, opening_requests);
    expect(opening.map((answer) => answer.status)).toEqual(Array(opening_requests).fill(200));
    const racing = await burst(card, requests - opening_requests);
    const answers = [...opening, ...racing];
    expect(answers.every((answer) => answer.status === 200 || answer.status === 402)).toBe(true);
    const approved = answers.filter((answer) => answer.status === 200);
    const approved_minor = approved.reduce((sum, answer) => sum + answer.amount_minor, 0);
    expect(approved_minor).toBeLessThanOrEqual(daily_limit_minor);
    // The limit was really reached, and both processes approved on the shared card.
    expect(racing.some((answer) => answer.decline_reason === 'AMOUNT_LIMIT_EXCEEDED')).toBe(true);
    expect(new Set(approved.map((answer) => answer.process))).toEqual(new Set([0, 1]));
    // A decision that missed its deadline may still have counted until its release ran (by
    // JIT token, asynchronously): wait for the counters to settle on what was approved.
    await waitUntil(
      async () => {
        const counters = (await store.readState(card.user_token, card.card_token)).counters;
        return counters?.day.amount_minor === approved_minor && counters.day.count === approved.length;
      },
      { timeout_ms: 10_000, message: 'Redis counters equal to the approved answers' },
    );
    const { counters } = await store.readState(card.user_token, card.card_token);
    expect(counters?.day).toMatchObject({ amount_minor: approved_minor, count: approved.length });
  });

  it('both processes shut down gracefully on SIGTERM (exit 0)', async () => {
    const codes = await Promise.all(processes.map(stopProcess));
    expect(codes).toEqual([0, 0]);
  });
});
