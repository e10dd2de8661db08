import {
  AmqpClient,
  deleteTopology,
  exchange_names,
  product_topology,
  queue_names,
  type TopologyDescription,
} from '@afc/amqp';
import {
  type ApplyRequest,
  type CardStateStore,
  createCardState,
  type DecideRequest,
  defineHoldScripts,
  type HoldScripts,
  OutboxEvent,
  readCardRecord,
  writeCardRecord,
} from '@afc/card-state';
import { loadConfig, type SettlementConfig, settlementConfigSchema } from '@afc/config';
import { currentCounters } from '@afc/domain';
import { createLogger, type Logger } from '@afc/log';
import type { Service } from '@afc/service-kit';
import {
  type Cleanups,
  captureLogs,
  isolatedInfrastructure,
  localServiceUrls,
  startWithCleanups,
  waitUntil,
} from '@afc/testkit';
import { Value } from '@sinclair/typebox/value';
import { buildSettlement } from '../src/build-settlement.ts';
import { webhookOf } from './events.ts';
import { nextToken, seedPersonalCard } from './seed.ts';

// The settlement service with its own database, Redis key prefix and broker namespace (all
// removed on close), plus what the operations tests drive it with: the card-state store the
// authorizer would use, the hold scripts, and a publisher standing in for the outbox relay.
export interface OpsHarness {
  readonly app: Service;
  readonly config: SettlementConfig;
  readonly env: Readonly<Record<string, string>>;
  // The test database, reached directly (not through a drill's proxy).
  readonly database_url: string;
  readonly topology: TopologyDescription;
  readonly cards: CardStateStore;
  readonly holds: HoldScripts;
  readonly client: AmqpClient;
  readonly logger: Logger;
  readonly log_lines: string[];
  publish(event: OutboxEvent): Promise<void>;
  settled(): number;
  // Decides with the real scripts and settles every event they emitted; returns those events.
  decideAndSettle(request: DecideRequest): Promise<OutboxEvent[]>;
  // The same for an informative message (clearing, reversal, refund, advice).
  applyAndSettle(request: ApplyRequest): Promise<OutboxEvent[]>;
  // Decides as decideAndSettle, but the authorizer's events are lost (with Redis): only
  // Marqeta's transaction webhooks of them reach the books.
  decideReportedByMarqeta(request: DecideRequest): Promise<OutboxEvent[]>;
  close(): Promise<void>;
}

export interface OpsOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly retry_delays_ms?: readonly number[];
  // Settlement reaches PostgreSQL through this local port (a drill's TcpProxy).
  readonly database_proxy_port?: number;
  readonly handler_timeout_ms?: number;
}

export function opsTopology(namespace: string, retry_delays_ms: readonly number[]): TopologyDescription {
  const settlement = product_topology.queues.find((queue) => queue.name === queue_names.settlement);
  if (settlement === undefined) throw new Error('no settlement queue in the product topology');
  return {
    exchanges: product_topology.exchanges,
    queues: [{ ...settlement, retry_delays_ms, max_attempts: retry_delays_ms.length + 1 }],
    namespace,
  };
}

export async function startOps(options: OpsOptions = {}): Promise<OpsHarness> {
  return startWithCleanups((cleanups) => start(options, cleanups));
}

async function start(options: OpsOptions, cleanups: Cleanups): Promise<OpsHarness> {
  const { database, redis_prefix: prefix, namespace } = await isolatedInfrastructure(cleanups, 'so');
  const topology = opsTopology(namespace, options.retry_delays_ms ?? [200, 400]);
  cleanups.add(() => deleteTopology(localServiceUrls.amqp, topology));
  const service_url = new URL(database.url);
  if (options.database_proxy_port !== undefined) {
    service_url.hostname = '127.0.0.1';
    service_url.port = String(options.database_proxy_port);
  }
  const env = {
    DATABASE_URL: service_url.toString(),
    REDIS_URL: localServiceUrls.redis,
    REDIS_KEY_PREFIX: prefix.prefix,
    AMQP_URL: localServiceUrls.amqp,
    AMQP_NAMESPACE: namespace,
    PG_POOL_MAX: '6',
    AMQP_PREFETCH: '8',
    HOLD_EXPIRY_SWEEP_INTERVAL_MS: '0',
    ...options.env,
  };
  const loaded = loadConfig(settlementConfigSchema, env);
  if (!loaded.ok) throw new Error(`bad test config: ${JSON.stringify(loaded.errors)}`);
  const { lines: log_lines, destination } = captureLogs();
  const logger = createLogger({ name: 'settlement', level: 'info', destination });
  const app = await buildSettlement(loaded.config, logger, {
    topology,
    ...(options.handler_timeout_ms === undefined ? {} : { handler_timeout_ms: options.handler_timeout_ms }),
  });
  cleanups.add(() => app.close());
  await app.ready();
  const silent = createLogger({ name: 'settlement-ops-test', level: 'silent' });
  const cards = await createCardState({
    redis: app.redis,
    partitions: loaded.config.REDIS_PARTITIONS,
    refund_mode: 'counters_unchanged',
    logger: silent,
  });
  const holds = await defineHoldScripts(app.redis, loaded.config.REDIS_PARTITIONS);
  const client = new AmqpClient({
    url: localServiceUrls.amqp,
    connection_name: 'test-relay',
    topology,
    logger: silent,
  });
  cleanups.add(() => client.close(5_000));
  await client.start(5_000);
  const settled = () => log_lines.filter((line) => line.includes('"settlement.event"')).length;
  // A confirmed publish, its delivery, a possible retry and the commit: on a busy two-core
  // test machine that can take seconds (harness.ts allows as much).
  const waitSettled = (count: number) =>
    waitUntil(() => settled() >= count, { timeout_ms: 20_000, message: 'settled' });
  const publish = async (event: OutboxEvent) => {
    await client.publish(exchange_names.transactions, event.type, event, {
      message_id: event.event_id,
      type: event.type,
      confirm_timeout_ms: 5_000,
    });
  };
  return {
    app,
    config: loaded.config,
    env,
    database_url: database.url,
    topology,
    cards,
    holds,
    client,
    logger: silent,
    log_lines,
    publish,
    settled,
    async decideAndSettle(request) {
      const events = await drainOutbox(app, cards, request.user_token, () => cards.decide(request));
      const before = settled();
      for (const event of events) await publish(event);
      await waitSettled(before + events.length);
      return events;
    },
    async applyAndSettle(request) {
      const events = await drainOutbox(app, cards, request.user_token, () => cards.apply(request));
      const before = settled();
      for (const event of events) await publish(event);
      await waitSettled(before + events.length);
      return events;
    },
    async decideReportedByMarqeta(request) {
      const events = await drainOutbox(app, cards, request.user_token, () => cards.decide(request));
      const before = settled();
      for (const event of events) {
        const webhook = webhookOf(event, nextToken('tx'));
        const payload = { type: 'transactions', event: webhook, received_at: new Date().toISOString() };
        await client.publish(exchange_names.events, 'webhook.transactions', payload, {
          message_id: String(webhook['token']),
          confirm_timeout_ms: 5_000,
        });
      }
      await waitSettled(before + events.length);
      return events;
    },
    close: () => cleanups.run(),
  };
}

// Runs `act`, then takes what it appended to the cardholder's outbox off it, as the relay does.
// The partition's stream is shared with other cardholders: what was there before (events nobody
// relays in a test, such as approvals settlement restored from webhooks) is dropped first.
export async function drainOutbox(
  app: Pick<Service, 'redis'>,
  cards: CardStateStore,
  user_token: string,
  act: () => Promise<unknown>,
): Promise<OutboxEvent[]> {
  const key = cards.keys(user_token, 'any-card').outbox;
  const earlier = await app.redis.xrange(key, '-', '+');
  if (earlier.length > 0) await app.redis.xdel(key, ...earlier.map(([id]) => id));
  await act();
  const entries = await app.redis.xrange(key, '-', '+');
  if (entries.length > 0) await app.redis.xdel(key, ...entries.map(([id]) => id));
  return entries.map(([, fields]) => {
    const event: unknown = JSON.parse(fields[1] ?? 'null');
    if (!Value.Check(OutboxEvent, event)) throw new Error('outbox entry is not an OutboxEvent');
    return event;
  });
}

export const far_deadline_ms = Date.parse('2100-01-01T00:00:00Z');

// An issued, active business card in PostgreSQL and the same card loaded into Redis.
// Counters start empty in the windows of counted_at_ms (the time the test's decisions carry).
export async function seedActiveBusinessCard(
  h: Pick<OpsHarness, 'app' | 'cards'>,
  counted_at_ms = Date.now(),
) {
  const sql = h.app.postgres.sql;
  const user_token = nextToken('user');
  const card_token = nextToken('card');
  const ids = await sql.begin(async (tx) => {
    const [company] = await tx<{ id: string }[]>`insert into companies (name) values ('Acme') returning id`;
    const [user] = await tx<{ id: string }[]>`
      insert into users (company_id, user_token, email, full_name)
      values (${company?.id ?? ''}, ${user_token}, ${`${user_token}@example.com`}, 'Ada Employee')
      returning id`;
    const [card] = await tx<{ id: string }[]>`
      insert into cards (card_token, company_id, user_id, card_product_token, currency_code, state,
        last_four, expiration_month, expiration_year)
      values (${card_token}, ${company?.id ?? ''}, ${user?.id ?? ''}, 'product-1', 'USD', 'active', '4242', 12, 2099)
      returning id`;
    return { card_id: card?.id ?? '', user_id: user?.id ?? '' };
  });
  const card = {
    card_token,
    user_token,
    program: 'business' as const,
    state: 'active' as const,
    expiration_year: 2099,
    expiration_month: 12,
    currency: 'USD',
    version: 1,
  };
  await h.cards.writeCard(card);
  const open = { mcc_allow: [], mcc_block: [], blocked_merchant_ids: [], blocked_countries: [], version: 0 };
  await h.cards.writeControls(user_token, card_token, open);
  await h.cards.writeCardholder({ user_token, program: 'business', status: 'active', version: 1 });
  await h.cards.writeCounters(user_token, card_token, currentCounters(undefined, counted_at_ms));
  return { ...ids, card_token, user_token };
}

export function authorizationOf(
  card: { card_token: string; user_token: string },
  amount_minor: number,
  now_ms: number,
  overrides: Partial<DecideRequest> = {},
): DecideRequest {
  return {
    kind: 'authorization',
    single_message: false,
    method: 'pgfs.authorization',
    jit_token: nextToken('jit'),
    card_token: card.card_token,
    user_token: card.user_token,
    amount_minor,
    currency: 'USD',
    mcc: '5411',
    mid: 'merchant-1',
    merchant_country: 'USA',
    now_ms,
    deadline_at_ms: far_deadline_ms,
    ...overrides,
  };
}

// A person with a funded wallet and an active card in the personal store, loaded into Redis as
// the authorizer's loader does (counters empty in the windows of counted_at_ms).
export async function seedActivePersonalCard(
  h: Pick<OpsHarness, 'app' | 'cards'>,
  funded_minor: number,
  counted_at_ms = Date.now(),
) {
  const card = await seedPersonalCard(h.app.personalStore, funded_minor);
  const record = await readCardRecord(
    { sql: h.app.postgres.sql, personal_store: h.app.personalStore },
    card.card_token,
    counted_at_ms,
  );
  if (record === undefined) throw new Error('seeded personal card not found');
  await writeCardRecord(h.cards, record);
  return card;
}
