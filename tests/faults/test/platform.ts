import {
  AmqpClient,
  deleteTopology,
  product_topology,
  queue_names,
  type TopologyDescription,
} from '@afc/amqp';
import { buildAuthorizer } from '@afc/authorizer';
import { authorizerConfigSchema, loadConfigOrThrow, settlementConfigSchema } from '@afc/config';
import { createLogger } from '@afc/log';
import { MarqetaClient } from '@afc/marqeta';
import { buildMarqetaSim, type MarqetaSim } from '@afc/marqeta-sim';
import { createPostgres, type PostgresClient, type Sql } from '@afc/postgres';
import type { Service, UnderPressureOptions } from '@afc/service-kit';
import { buildSettlement } from '@afc/settlement';
import {
  Cleanups,
  captureLogs,
  isolatedInfrastructure,
  localServiceUrls,
  TcpProxy,
  type TestRedisPrefix,
} from '@afc/testkit';
import { Traffic, type TrafficOptions } from './traffic.ts';

export const application_token = 'drill-app';
export const admin_access_token = 'drill-admin-access-token';
export const sim_authorization = `Basic ${Buffer.from(`${application_token}:${admin_access_token}`).toString('base64')}`;
export const jit_username = 'marqeta-jit';
export const jit_password = 'a-long-enough-jit-password-for-drills';
export const jit_authorization = `Basic ${Buffer.from(`${jit_username}:${jit_password}`).toString('base64')}`;
const product_token = 'drill-product';

const port = (url: string, fallback: number) => Number(new URL(url).port || fallback);

// A TcpProxy in front of each of Redis, RabbitMQ and PostgreSQL: cut one and only the drill's
// own clients lose it, never the shared service or another test.
export interface Proxies {
  readonly redis: TcpProxy;
  readonly amqp: TcpProxy;
  readonly postgres: TcpProxy;
}

export function viaProxy(url: string, proxy: TcpProxy): string {
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  return proxied.toString();
}

// Only the settlement queue (quorum queues are costly on a shared broker), with short retry
// delays so that a cut of a few seconds outlasts a message's retries.
export function drillTopology(namespace: string): TopologyDescription {
  const settlement = product_topology.queues.find((queue) => queue.name === queue_names.settlement);
  if (settlement === undefined) throw new Error('no settlement queue in the product topology');
  return {
    exchanges: product_topology.exchanges,
    queues: [{ ...settlement, retry_delays_ms: [200, 400] }],
    namespace,
  };
}

// One database, one Redis prefix, one AMQP namespace and the proxies, plus the simulator;
// everything is undone in reverse order by close(), also after a start that failed half-way
// (the test's afterAll closes whatever beforeAll got to).
export class Ground {
  readonly cleanups = new Cleanups();
  readonly proxies: Proxies = {
    redis: new TcpProxy({ target_port: port(localServiceUrls.redis, 6379) }),
    amqp: new TcpProxy({ target_port: port(localServiceUrls.amqp, 5672) }),
    postgres: new TcpProxy({ target_port: port(localServiceUrls.postgres, 5432) }),
  };
  database_url = '';
  redis_prefix = '';
  #redis_keys: TestRedisPrefix | undefined;
  namespace = '';
  sim!: MarqetaSim;
  sim_origin = '';
  // The test's own connection to the data of record, never through a proxy.
  postgres!: PostgresClient;

  get sql(): Sql {
    return this.postgres.sql;
  }

  // The caller's topology, in the namespace made here; returned as declared for the services.
  async start(topologyIn: (namespace: string) => TopologyDescription): Promise<TopologyDescription> {
    const { database, redis_prefix, namespace } = await isolatedInfrastructure(this.cleanups, 'drill');
    this.database_url = database.url;
    this.redis_prefix = redis_prefix.prefix;
    this.#redis_keys = redis_prefix;
    this.namespace = namespace;
    const topology = topologyIn(namespace);
    // Quorum queues are Raft groups: leaving them behind slows the shared broker for everyone.
    this.cleanups.add(() => deleteTopology(localServiceUrls.amqp, topology));
    for (const proxy of Object.values(this.proxies)) {
      await proxy.start();
      this.cleanups.add(() => proxy.stop());
    }
    this.sim = buildMarqetaSim({ application_token, admin_access_token, log_level: 'silent' });
    this.sim_origin = await this.sim.listen();
    this.cleanups.add(() => this.sim.close());
    this.postgres = createPostgres(
      { url: database.url, application_name: 'fault-drill', max_connections: 2 },
      createLogger({ name: 'drill-sql', level: 'silent' }),
    );
    this.cleanups.add(() => this.postgres.close(5_000));
    return topology;
  }

  // Redis restarted without its data (no persistence, or a failover to an empty replica): every
  // key of the drill is gone, the services' connections stay.
  async loseRedisData(): Promise<void> {
    if (this.#redis_keys === undefined) throw new Error('not started');
    await this.#redis_keys.cleanup();
  }

  async close(): Promise<void> {
    for (const proxy of Object.values(this.proxies)) {
      proxy.restore();
      proxy.release();
    }
    await this.cleanups.run();
  }

  traffic(card_tokens: readonly string[], options: Partial<TrafficOptions> = {}): Traffic {
    return new Traffic({
      sim: this.sim,
      sim_authorization,
      card_tokens,
      concurrency: 2,
      pause_ms: 20,
      max_requests: 2_000,
      ...options,
    });
  }

  // The program as an operator sets it up at Marqeta (the gateway is our authorizer), and
  // business cards known to both Marqeta and our data of record.
  async seedProgram(jit_url: string, card_count: number): Promise<string[]> {
    const marqeta = new MarqetaClient({
      base_url: `${this.sim_origin}/v3`,
      application_token,
      admin_access_token,
      retry: { max_attempts: 1 },
      logger: createLogger({ name: 'drill-marqeta', level: 'silent' }),
    });
    try {
      await marqeta.createProgramGatewayFundingSource({
        token: 'drill-gateway',
        name: 'authorizer',
        url: jit_url,
        basic_auth_username: jit_username,
        basic_auth_password: jit_password,
        timeout_millis: 3_000,
      });
      await marqeta.createCardProduct({
        token: product_token,
        name: 'drill cards',
        start_date: '2024-01-01',
        config: {
          card_life_cycle: { activate_upon_issue: true },
          jit_funding: {
            programgateway_funding_source: { funding_source_token: 'drill-gateway', enabled: true },
          },
        },
      });
      const cards: string[] = [];
      for (let index = 0; index < card_count; index += 1) {
        cards.push(await this.#seedCard(marqeta, index));
      }
      return cards;
    } finally {
      await marqeta.close();
    }
  }

  async #seedCard(marqeta: MarqetaClient, index: number): Promise<string> {
    const user_token = `${this.namespace}-user-${index}`;
    const card_token = `${this.namespace}-card-${index}`;
    await marqeta.createUser({ token: user_token, first_name: 'Ada', last_name: `Drill${index}` });
    await marqeta.createCard({ token: card_token, user_token, card_product_token: product_token });
    await this.sql.begin(async (tx) => {
      const [company] = await tx<
        { id: string }[]
      >`insert into companies (name) values ('Drill Co') returning id`;
      const [user] = await tx<{ id: string }[]>`
        insert into users (company_id, user_token, email, full_name, status)
        values (${company?.id ?? ''}, ${user_token}, ${`${user_token}@example.com`}, 'Ada Drill', 'active')
        returning id`;
      const [card] = await tx<{ id: string }[]>`
        insert into cards (card_token, company_id, user_id, card_product_token, state, last_four,
                           expiration_month, expiration_year, currency_code)
        values (${card_token}, ${company?.id ?? ''}, ${user?.id ?? ''}, ${product_token}, 'active', '4242',
                12, 2099, 'USD')
        returning id`;
      await tx`insert into spending_controls (card_id, currency_code) values (${card?.id ?? ''}, 'USD')`;
    });
    return card_token;
  }
}

export interface InProcessOptions {
  readonly authorizer_env?: Readonly<Record<string, string>>;
  readonly under_pressure?: UnderPressureOptions;
  readonly with_settlement?: boolean;
}

// The authorizer and settlement in this process (real config path, real HTTP for the JIT
// gateway), each client behind its proxy: the authorizer reaches Redis and RabbitMQ through
// them, settlement reaches PostgreSQL and RabbitMQ through them.
export class InProcessPlatform extends Ground {
  authorizer!: Service;
  settlement: Service | undefined;
  readonly authorizer_logs = captureLogs();
  readonly settlement_logs = captureLogs();
  topology!: TopologyDescription;
  // The operator's client for parked messages, straight to the broker.
  operator!: AmqpClient;
  cards: string[] = [];

  async boot(options: InProcessOptions = {}): Promise<void> {
    this.topology = await this.start(drillTopology);
    const amqp_url = viaProxy(localServiceUrls.amqp, this.proxies.amqp);
    const authorizer_config = loadConfigOrThrow(authorizerConfigSchema, 'drill authorizer', {
      DATABASE_URL: this.database_url,
      REDIS_URL: viaProxy(localServiceUrls.redis, this.proxies.redis),
      REDIS_KEY_PREFIX: this.redis_prefix,
      AMQP_URL: amqp_url,
      AMQP_NAMESPACE: this.namespace,
      JIT_BASIC_USERNAME: jit_username,
      JIT_BASIC_PASSWORD: jit_password,
      PG_POOL_MAX: '4',
      // Two drills run at once beside the rest of the suite on two cores: a slow moment must
      // not turn an approval into a system_error or timeout decline that the drill did not
      // cause. The Redis drill still sees system_error: a cut fails a command at once.
      REDIS_COMMAND_TIMEOUT_MS: '500',
      DECISION_DEADLINE_MS: '1500',
      ...options.authorizer_env,
    });
    const authorizer_logger = createLogger({
      name: 'authorizer',
      level: 'info',
      destination: this.authorizer_logs.destination,
    });
    this.authorizer = await buildAuthorizer(authorizer_config, authorizer_logger, {
      topology: this.topology,
      // The authorizer shares this event loop with the simulator, settlement and the test: only
      // the flood drill, which is about shedding, sheds at the service's own limits.
      under_pressure: options.under_pressure ?? { max_event_loop_delay_ms: 1_000 },
    });
    this.cleanups.add(() => this.authorizer.close());
    const jit_origin = await this.authorizer.listen({ host: '127.0.0.1', port: 0 });
    if (options.with_settlement !== false) await this.#bootSettlement(amqp_url);
    this.operator = new AmqpClient({
      url: localServiceUrls.amqp,
      connection_name: 'drill-operator',
      topology: this.topology,
      logger: createLogger({ name: 'drill-operator', level: 'silent' }),
    });
    this.cleanups.add(() => this.operator.close(5_000));
    await this.operator.start(5_000);
    this.cards = await this.seedProgram(`${jit_origin}/v1/jit`, 8);
  }

  async #bootSettlement(amqp_url: string): Promise<void> {
    const config = loadConfigOrThrow(settlementConfigSchema, 'drill settlement', {
      DATABASE_URL: viaProxy(this.database_url, this.proxies.postgres),
      REDIS_URL: localServiceUrls.redis,
      // The authorizer's keys: settlement releases and restores holds in them.
      REDIS_KEY_PREFIX: this.redis_prefix,
      AMQP_URL: amqp_url,
      AMQP_NAMESPACE: this.namespace,
      // Many attempts wait on a cut connection at once, so that retries keep pace with the stream.
      AMQP_PREFETCH: '32',
      PG_POOL_MAX: '4',
      // A cut must fail a statement in about a second, not after the default 5 s connect wait.
      PG_CONNECT_TIMEOUT_MS: '1000',
      PG_CONNECT_ATTEMPTS: '1',
    });
    const logger = createLogger({
      name: 'settlement',
      level: 'info',
      destination: this.settlement_logs.destination,
    });
    // Migrated by the authorizer already (the same database).
    this.settlement = await buildSettlement(config, logger, {
      topology: this.topology,
      // An attempt whose statement a cut left waiting fails after this (the service's is 30 s),
      // so that a few seconds' cut outlasts an event's three attempts.
      handler_timeout_ms: 1_000,
    });
    const settlement = this.settlement;
    this.cleanups.add(() => settlement.close());
    await settlement.ready();
  }

  async ready(service: Service): Promise<number> {
    return (await service.inject({ method: 'GET', url: '/ready' })).statusCode;
  }
}
