import { deleteTopology, product_topology, queue_names, type TopologyDescription } from '@afc/amqp';
import { type ApiConfig, apiConfigSchema, loadConfig } from '@afc/config';
import { createLogger } from '@afc/log';
import type { Service } from '@afc/service-kit';
import {
  captureLogs,
  createTestDatabase,
  createTestRedisPrefix,
  localServiceUrls,
  type TestDatabase,
  type TestRedisPrefix,
  uniqueTestId,
} from '@afc/testkit';
import { buildApi } from '../src/build-api.ts';

export const admin_key = 'test-admin-key-0123456789-abcdef';

export interface Harness {
  readonly app: Service;
  readonly config: ApiConfig;
  readonly database: TestDatabase;
  readonly redis_prefix: TestRedisPrefix;
  readonly namespace: string;
  // The broker layout the api declared, with its namespace (another client must declare the same).
  readonly topology: TopologyDescription;
  readonly log_lines: string[];
  close(): Promise<void>;
}

// The real API (real config path, PostgreSQL, Redis and RabbitMQ) isolated per test file: its
// own database, key prefix and broker namespace.
// `card_events_retry_delays_ms`: the card-events queue's retry delays, for a test that waits for
// a message to be parked.
export async function startApi(
  env: Readonly<Record<string, string>> = {},
  options: { readonly card_events_retry_delays_ms?: readonly number[] } = {},
): Promise<Harness> {
  const database = await createTestDatabase();
  const redis_prefix = createTestRedisPrefix();
  const namespace = uniqueTestId('api');
  const loaded = loadConfig(apiConfigSchema, {
    DATABASE_URL: database.url,
    REDIS_URL: localServiceUrls.redis,
    REDIS_KEY_PREFIX: redis_prefix.prefix,
    AMQP_URL: localServiceUrls.amqp,
    AMQP_NAMESPACE: namespace,
    API_ADMIN_KEY: admin_key,
    PG_POOL_MAX: '4',
    ...env,
  });
  if (!loaded.ok) throw new Error(`bad test config: ${JSON.stringify(loaded.errors)}`);
  const { lines: log_lines, destination } = captureLogs();
  const logger = createLogger({ name: 'api', level: 'info', destination });
  // Shedding by event-loop delay is the service kit's (tested there); on a busy shared test
  // machine it would answer 503 to requests these tests are about.
  const delays = options.card_events_retry_delays_ms;
  const topology =
    delays === undefined
      ? product_topology
      : {
          ...product_topology,
          queues: product_topology.queues.map((queue) =>
            queue.name === queue_names.card_events ? { ...queue, retry_delays_ms: delays } : queue,
          ),
        };
  const app = await buildApi(loaded.config, logger, {
    under_pressure: { max_event_loop_delay_ms: 5_000 },
    topology,
  });
  await app.ready();
  return {
    app,
    config: loaded.config,
    database,
    redis_prefix,
    namespace,
    topology: { ...topology, namespace },
    log_lines,
    async close() {
      await app.close();
      await redis_prefix.cleanup();
      // Quorum queues are Raft groups: leaving them behind slows the shared broker for everyone.
      await deleteTopology(localServiceUrls.amqp, { ...topology, namespace });
      await database.drop();
    },
  };
}

export function bearer(key: string) {
  return { authorization: `Bearer ${key}` };
}

export interface Tenant {
  readonly company_id: string;
  readonly key: string;
}

export async function createCompany(app: Service, name = 'Acme'): Promise<Tenant> {
  const response = await app.inject({
    method: 'POST',
    url: '/v1/companies',
    headers: bearer(admin_key),
    payload: { name },
  });
  if (response.statusCode !== 201) throw new Error(`company: ${response.statusCode} ${response.body}`);
  const body = response.json<{ company: { id: string }; api_key: { key: string } }>();
  return { company_id: body.company.id, key: body.api_key.key };
}

let sequence = 0;
export async function createUser(app: Service, tenant: Tenant): Promise<{ id: string; user_token: string }> {
  sequence += 1;
  const response = await app.inject({
    method: 'POST',
    url: '/v1/users',
    headers: bearer(tenant.key),
    payload: { email: `user${sequence}@example.com`, full_name: 'Ada Employee' },
  });
  if (response.statusCode !== 201) throw new Error(`user: ${response.statusCode} ${response.body}`);
  return response.json();
}

export async function createCard(app: Service, tenant: Tenant, user_id: string) {
  const response = await app.inject({
    method: 'POST',
    url: '/v1/cards',
    headers: bearer(tenant.key),
    payload: { user_id, card_product_token: 'product-1', currency: 'USD' },
  });
  if (response.statusCode !== 202) throw new Error(`card: ${response.statusCode} ${response.body}`);
  return response.json<{ id: string; card_token: string; state: string }>();
}

// Rows of every table the API writes: a rejected request must leave them all as they were.
export async function rowCounts(app: Service): Promise<Record<string, number>> {
  const [row] = await app.postgres.sql<Record<string, number>[]>`
    select (select count(*)::int from companies) as companies, (select count(*)::int from api_keys) as api_keys,
           (select count(*)::int from users) as users, (select count(*)::int from cards) as cards,
           (select count(*)::int from spending_controls) as spending_controls,
           (select coalesce(sum(version), 0)::int from spending_controls) as controls_versions,
           (select count(*)::int from outbox_messages) as outbox_messages,
           (select count(*)::int from personal.users) as personal_users,
           (select count(*)::int from personal.cards) as personal_cards,
           (select count(*)::int from personal.wallet_deposits) as wallet_deposits,
           (select coalesce(sum(available_minor), 0)::bigint::text from personal.wallets) as wallet_total,
           (select coalesce(sum(version), 0)::int from cards) as card_versions,
           (select count(*)::int from card_lifecycle_events) as card_lifecycle_events`;
  return row ?? {};
}
