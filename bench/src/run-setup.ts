import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Logger } from '@afc/log';
import { freePort, localServiceUrls } from '@afc/testkit';
import { type CardPlan, planCards } from './card-plan.ts';
import { ChildServer } from './child-server.ts';
import {
  type Cleanup,
  createDatabase,
  deleteAmqpNamespace,
  deleteRedisPrefix,
  dropDatabase,
  type Isolation,
  newIsolation,
} from './isolation.ts';
import { LoadClient } from './load-client.ts';
import { total } from './prometheus-text.ts';
import { seedPostgres } from './seed-postgres.ts';
import { scrape } from './server-metrics.ts';
import { warmRedis } from './warm-redis.ts';

// What the benchmarks share: a run's own seeded corner of the local services, the services
// under test as child processes, and the load generator.

export const partitions = 64;
export const decline_share = 0.1;
// Marqeta declines a JIT request it has no answer to within 3 s: slower is a timeout here.
export const request_timeout_s = 3;
const jit_username = 'bench-jit';
const authorizer_entry = fileURLToPath(new URL('../../services/authorizer/src/server.ts', import.meta.url));
const settlement_entry = fileURLToPath(new URL('../../services/settlement/src/server.ts', import.meta.url));

// bench/results/, or BENCH_RESULTS_DIR (development runs that should not touch the checkout).
export function resultsDirectory(): URL {
  const override = process.env.BENCH_RESULTS_DIR;
  if (override === undefined || override === '') return new URL('../results/', import.meta.url);
  return pathToFileURL(override.endsWith('/') ? override : `${override}/`);
}

export interface Seeded {
  readonly isolation: Isolation;
  readonly plan: CardPlan;
  readonly seed_ms: number;
  // The JIT gateway's Basic password for this run only.
  readonly password: string;
}

// Database, cards, warm Redis state; the undoing of all three (and of the broker namespace the
// services will declare) registered first, so it runs after the services have stopped.
export async function seedRun(cards: number, logger: Logger, cleanup: Cleanup): Promise<Seeded> {
  const isolation = newIsolation();
  logger.info({ database: isolation.database_name, cards }, 'bench: seeding');
  const seed_started = Date.now();
  await createDatabase(isolation);
  cleanup.add('drop database', () => dropDatabase(isolation));
  const plan = planCards(cards, partitions);
  await seedPostgres(isolation.database_url, plan, logger);
  cleanup.add('delete redis keys', () => deleteRedisPrefix(isolation));
  await warmRedis(plan, isolation.redis_prefix, logger);
  cleanup.add('delete amqp namespace', () => deleteAmqpNamespace(isolation));
  return { isolation, plan, seed_ms: Date.now() - seed_started, password: randomBytes(24).toString('hex') };
}

function serviceEnv(isolation: Isolation): Record<string, string> {
  return {
    DATABASE_URL: isolation.database_url,
    REDIS_URL: localServiceUrls.redis,
    REDIS_KEY_PREFIX: isolation.redis_prefix,
    REDIS_PARTITIONS: String(partitions),
    AMQP_URL: localServiceUrls.amqp,
    AMQP_NAMESPACE: isolation.amqp_namespace,
    LOG_LEVEL: 'warn',
  };
}

export async function startAuthorizer(
  seeded: Seeded,
  cpu_prof_dir: string | undefined,
): Promise<ChildServer> {
  const profile = cpu_prof_dir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${cpu_prof_dir}`];
  return ChildServer.start({
    name: 'authorizer',
    entry: authorizer_entry,
    node_options: ['--conditions=@afc/source', ...profile],
    env: {
      ...serviceEnv(seeded.isolation),
      JIT_BASIC_USERNAME: jit_username,
      JIT_BASIC_PASSWORD: seeded.password,
    },
    port: await freePort(),
    ready_path: '/ready',
    ready_timeout_ms: 30_000,
  });
}

// The settlement service as deployed: its own server entry and configuration, on the run's
// database and broker namespace. Ready once PostgreSQL and RabbitMQ are (its consumer is on).
export async function startSettlement(seeded: Seeded): Promise<ChildServer> {
  return ChildServer.start({
    name: 'settlement',
    entry: settlement_entry,
    node_options: ['--conditions=@afc/source'],
    env: serviceEnv(seeded.isolation),
    port: await freePort(),
    ready_path: '/ready',
    ready_timeout_ms: 30_000,
  });
}

export async function startLoad(seeded: Seeded): Promise<LoadClient> {
  return LoadClient.start({
    cards: seeded.plan.cards.map(({ card_token, user_token, per_transaction_limit_minor }) => ({
      card_token,
      user_token,
      per_transaction_limit_minor,
    })),
    authorization: `Basic ${Buffer.from(`${jit_username}:${seeded.password}`).toString('base64')}`,
    token_prefix: seeded.isolation.id,
    decline_share,
  });
}

// The relay publishes a phase's events to RabbitMQ after the fact; the next phase should not
// pay for that backlog. Bounded: past settle_max_s, or when the backlog has not shrunk for 2 s
// (RabbitMQ unreachable), it goes on regardless.
export async function settleOutbox(url: string, settle_max_s: number) {
  const started = Date.now();
  let backlog = Number.NaN;
  let best = Number.POSITIVE_INFINITY;
  let best_at = started;
  while (Date.now() - started < settle_max_s * 1_000 && Date.now() - best_at < 2_000) {
    backlog = total(await scrape(url), 'afc_outbox_backlog');
    if (backlog === 0) break;
    if (backlog < best) {
      best = backlog;
      best_at = Date.now();
    }
    await sleep(250);
  }
  return { backlog_left: backlog, waited_ms: Date.now() - started };
}
