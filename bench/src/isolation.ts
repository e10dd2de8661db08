import { readdir, readFile } from 'node:fs/promises';
import { product_topology, resolveTopology } from '@afc/amqp';
import type { Logger } from '@afc/log';
import { localServiceUrls, uniqueTestId } from '@afc/testkit';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import postgres from 'postgres';

// A run's own corner of the shared PostgreSQL, Redis and RabbitMQ, and the undoing of it.
export interface Isolation {
  readonly id: string;
  readonly database_name: string;
  readonly database_url: string;
  // Ends with ':' and holds no braces: the {p} hash tag after it still picks the slot.
  readonly redis_prefix: string;
  readonly amqp_namespace: string;
}

export function newIsolation(): Isolation {
  const id = uniqueTestId('');
  const database_name = `afc_bench_${id}`;
  const url = new URL(localServiceUrls.postgres);
  url.pathname = `/${database_name}`;
  return {
    id,
    database_name,
    database_url: url.toString(),
    redis_prefix: `afcbench${id}:`,
    amqp_namespace: `afc-bench-${id}`,
  };
}

function adminSql() {
  return postgres(localServiceUrls.postgres, { max: 1, connect_timeout: 5, onnotice: () => {} });
}

export async function createDatabase(isolation: Isolation): Promise<void> {
  const admin = adminSql();
  try {
    await admin.unsafe(`create database "${isolation.database_name}"`);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

export async function dropDatabase(isolation: Isolation): Promise<void> {
  const admin = adminSql();
  try {
    await admin.unsafe(`drop database if exists "${isolation.database_name}" with (force)`);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

// SCAN + UNLINK over the prefix only: other engineers' keys on the same Redis stay untouched.
// Bounded: a run writes a few hundred thousand keys at most.
export async function deleteRedisPrefix(isolation: Isolation): Promise<number> {
  const redis = new Redis(localServiceUrls.redis, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
    commandTimeout: 10_000,
  });
  let deleted = 0;
  try {
    await redis.connect();
    let cursor = '0';
    for (let round = 0; round < 100_000; round += 1) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${isolation.redis_prefix}*`, 'COUNT', 5000);
      if (keys.length > 0) deleted += await redis.unlink(...keys);
      cursor = next;
      if (cursor === '0') break;
    }
  } finally {
    redis.disconnect();
  }
  return deleted;
}

// The Redis server's process, to account its CPU time per phase (it is shared: other
// engineers' tests show up in it too).
export async function redisServerPid(): Promise<number | undefined> {
  const redis = new Redis(localServiceUrls.redis, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
  });
  try {
    await redis.connect();
    const match = /process_id:(\d+)/.exec(await redis.info('server'));
    return match?.[1] === undefined ? undefined : Number(match[1]);
  } catch {
    return undefined;
  } finally {
    redis.disconnect();
  }
}

// The local RabbitMQ's Erlang VM (beam.smp started with `-s rabbit boot`), found in /proc:
// undefined elsewhere or when there are several (the CPU figure would be a guess).
export async function brokerPid(): Promise<number | undefined> {
  const found: number[] = [];
  try {
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const command = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
      const args = command.split('\0');
      if (args[0]?.endsWith('beam.smp') && command.includes('\0rabbit\0boot\0')) found.push(Number(entry));
    }
  } catch {
    return undefined;
  }
  return found.length === 1 ? found[0] : undefined;
}

// Exactly the queues and exchanges the authorizer declared under the run's namespace.
// Deleting what was never declared is a no-op for RabbitMQ, so this is safe after any failure.
export async function deleteAmqpNamespace(isolation: Isolation): Promise<void> {
  const resolved = resolveTopology({ ...product_topology, namespace: isolation.amqp_namespace });
  const connection = await amqp.connect(localServiceUrls.amqp, { timeout: 10_000 });
  try {
    const channel = await connection.createChannel();
    for (const queue of resolved.queues.values()) {
      for (const name of [queue.work_queue, queue.parked_queue, ...queue.retry_tiers.map((t) => t.queue)]) {
        await channel.deleteQueue(name);
      }
    }
    for (const name of [...resolved.exchanges.values(), resolved.dead_letter_exchange]) {
      await channel.deleteExchange(name);
    }
    await channel.close();
  } finally {
    await connection.close();
  }
}

// Undo steps run last-in first-out, each bounded, each attempted whatever the others did.
export class Cleanup {
  readonly #steps: { readonly name: string; readonly run: () => Promise<unknown> }[] = [];
  readonly #logger: Logger;
  #running: Promise<void> | undefined;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  add(name: string, run: () => Promise<unknown>): void {
    this.#steps.push({ name, run });
  }

  // One pass at a time: a signal's cleanup and the failing run's own share the pass in
  // progress, so the process exits only after the last step (e.g. the database drop) ended.
  runAll(step_timeout_ms: number): Promise<void> {
    this.#running ??= this.#runSteps(step_timeout_ms).finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #runSteps(step_timeout_ms: number): Promise<void> {
    for (let step = this.#steps.pop(); step !== undefined; step = this.#steps.pop()) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${step_timeout_ms} ms`)), step_timeout_ms);
      });
      try {
        await Promise.race([step.run(), deadline]);
        this.#logger.info({ step: step.name }, 'bench: cleaned up');
      } catch (error) {
        this.#logger.error({ err: error, step: step.name }, 'bench: cleanup step failed');
      } finally {
        clearTimeout(timer);
      }
    }
  }
}
