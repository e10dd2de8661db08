import { deleteTopology, product_topology } from '@afc/amqp';
import { type AuthorizerConfig, authorizerConfigSchema, loadConfig } from '@afc/config';
import { createLogger } from '@afc/log';
import { buildJitRequest, type JitRequestOptions } from '@afc/marqeta';
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
import { buildAuthorizer } from '../src/build-authorizer.ts';

export const jit_username = 'marqeta-jit';
export const jit_password = 'a-long-enough-jit-password-for-tests';
export const basic_auth = `Basic ${Buffer.from(`${jit_username}:${jit_password}`).toString('base64')}`;

export interface Harness {
  readonly app: Service;
  readonly config: AuthorizerConfig;
  readonly database: TestDatabase;
  readonly redis_prefix: TestRedisPrefix;
  readonly namespace: string;
  readonly log_lines: string[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly env?: Readonly<Record<string, string>>;
  // Point a client at a TcpProxy instead of the service itself.
  readonly redis_url?: string;
  readonly database_url?: (database: TestDatabase) => string;
  readonly amqp_url?: string;
  readonly database?: TestDatabase;
}

// The real authorizer (real config path, real PostgreSQL, Redis and RabbitMQ) isolated per
// test file: its own database, key prefix and broker namespace.
export async function startAuthorizer(options: HarnessOptions = {}): Promise<Harness> {
  const database = options.database ?? (await createTestDatabase());
  const redis_prefix = createTestRedisPrefix();
  const namespace = uniqueTestId('az');
  const loaded = loadConfig(authorizerConfigSchema, {
    DATABASE_URL: options.database_url?.(database) ?? database.url,
    REDIS_URL: options.redis_url ?? localServiceUrls.redis,
    REDIS_KEY_PREFIX: redis_prefix.prefix,
    AMQP_URL: options.amqp_url ?? localServiceUrls.amqp,
    AMQP_NAMESPACE: namespace,
    JIT_BASIC_USERNAME: jit_username,
    JIT_BASIC_PASSWORD: jit_password,
    PG_POOL_MAX: '4',
    // Tests run beside many others on two cores: a slow moment must not turn an approval into
    // a timeout decline. The deadline itself is tested with its own small setting.
    DECISION_DEADLINE_MS: '2500',
    REDIS_COMMAND_TIMEOUT_MS: '2000',
    // Nor must a slow sample shed a test's request (shedding has tests of its own).
    SHED_EVENT_LOOP_DELAY_MS: '5000',
    ...options.env,
  });
  if (!loaded.ok) throw new Error(`bad test config: ${JSON.stringify(loaded.errors)}`);
  const { lines: log_lines, destination } = captureLogs();
  const logger = createLogger({ name: 'authorizer', level: 'info', destination });
  const app = await buildAuthorizer(loaded.config, logger);
  await app.ready();
  return {
    app,
    config: loaded.config,
    database,
    redis_prefix,
    namespace,
    log_lines,
    async close() {
      await app.close();
      await redis_prefix.cleanup();
      // Quorum queues are Raft groups: leaving them behind slows the shared broker for everyone.
      await deleteTopology(localServiceUrls.amqp, { ...product_topology, namespace });
      if (options.database === undefined) await database.drop();
    },
  };
}

let sequence = 0;
export function nextToken(prefix: string): string {
  sequence += 1;
  return `${prefix}-${process.pid}-${sequence}`;
}

export type JitBody = ReturnType<typeof buildJitRequest>;

export function jitBody(
  options: Partial<JitRequestOptions> & Pick<JitRequestOptions, 'card_token' | 'user_token'>,
) {
  return buildJitRequest({
    transaction_token: nextToken('txn'),
    jit_token: nextToken('jit'),
    method: 'pgfs.authorization',
    amount: '10.00',
    ...options,
  });
}

export function jitTokenOf(body: JitBody): string {
  return body.gpa_order?.jit_funding.token ?? '';
}

// Marqeta's later message about an earlier one (reversal, clearing, refund, incremental).
export function followUpBody(
  card: Pick<JitRequestOptions, 'card_token' | 'user_token'>,
  original: JitBody,
  method: string,
  amount: string | number,
): JitBody {
  return jitBody({
    card_token: card.card_token,
    user_token: card.user_token,
    method,
    amount,
    original_jit_funding_token: jitTokenOf(original),
  });
}

export async function postJit(app: Service, body: unknown, authorization = basic_auth) {
  return app.inject({
    method: 'POST',
    url: '/v1/jit',
    headers: { authorization, 'content-type': 'application/json' },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
