import { Type } from '@sinclair/typebox';
import { integer, oneOf, urlString } from './schema-options.ts';

// Property records, spread into one Type.Object per service. Defaults are what works on a
// developer machine (local PostgreSQL, Redis, RabbitMQ; the Marqeta simulator); secrets'
// defaults are public local values that a deployment overrides.

export const log_levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function logProperties() {
  return { LOG_LEVEL: oneOf(log_levels, 'info', 'Lowest level written to the JSON log.') };
}

export function httpProperties(default_port: number) {
  return {
    HOST: Type.String({
      pattern: '^\\S+$',
      expected: 'a host name or IP address without spaces',
      default: '127.0.0.1',
      description: 'Interface the HTTP server binds to.',
    }),
    PORT: integer(0, 65_535, default_port, 'TCP port the HTTP server listens on (0 picks a free port).'),
    ...logProperties(),
    SHUTDOWN_TIMEOUT_MS: integer(
      100,
      300_000,
      10_000,
      'Time allowed to finish in-flight work on shutdown before connections are closed.',
    ),
  };
}

// The services behind the service kit's load shedding (not the simulator). Why 100 ms: see
// @afc/service-kit under-pressure-plugin.ts, which falls back to the same default.
export const default_shed_event_loop_delay_ms = 100;

export function loadSheddingProperties() {
  return {
    SHED_EVENT_LOOP_DELAY_MS: integer(
      10,
      60_000,
      default_shed_event_loop_delay_ms,
      'Mean event-loop delay over a 500 ms sample past which requests are answered 503 with Retry-After (health and metrics still answer).',
    ),
  };
}

export function postgresProperties() {
  return {
    DATABASE_URL: urlString(['postgres:', 'postgresql:'], {
      default: 'postgres://postgres@127.0.0.1:5432/atlanticfrewaycard',
      description: 'PostgreSQL connection URL (data of record for business cards).',
    }),
    PG_POOL_MAX: integer(1, 1_000, 20, 'Maximum connections in the PostgreSQL pool.'),
    PG_CONNECT_TIMEOUT_MS: integer(100, 60_000, 5_000, 'Timeout of one PostgreSQL connection attempt.'),
    PG_IDLE_TIMEOUT_MS: integer(
      1_000,
      3_600_000,
      30_000,
      'Idle time after which a pooled connection closes.',
    ),
    PG_STATEMENT_TIMEOUT_MS: integer(1, 3_600_000, 30_000, 'Server-side statement_timeout of every session.'),
    PG_SLOW_QUERY_MS: integer(0, 600_000, 100, 'Queries slower than this are logged as slow.'),
    PG_CONNECT_ATTEMPTS: integer(1, 100, 5, 'Connection attempts at start (with backoff) before giving up.'),
  };
}

export function mongoProperties() {
  return {
    // Not a URL for WHATWG parsing: a replica set lists several host:port pairs.
    MONGODB_URI: Type.Optional(
      Type.String({
        pattern: '^mongodb(\\+srv)?://[^\\s/?#]+(/\\S*)?$',
        url_credentials: true,
        expected: 'a mongodb:// or mongodb+srv:// connection string',
        description: 'MongoDB connection string for the personal store; unset runs it on PostgreSQL.',
      }),
    ),
    MONGODB_DB: Type.String({
      minLength: 1,
      maxLength: 63,
      pattern: '^[^/\\\\. "$*<>:|?]+$',
      expected: 'a MongoDB database name (no / \\ . space " $ * < > : | ?)',
      default: 'atlanticfrewaycard',
      description: 'MongoDB database of the personal store.',
    }),
  };
}

export function redisProperties(command_timeout_ms: number) {
  return {
    REDIS_URL: urlString(['redis:', 'rediss:'], {
      default: 'redis://127.0.0.1:6379',
      description: 'Redis URL (single node); ignored when REDIS_CLUSTER_NODES is set.',
    }),
    REDIS_CLUSTER_NODES: Type.Optional(
      Type.String({
        pattern: '^[^\\s,:]+:\\d{1,5}(,[^\\s,:]+:\\d{1,5})*$',
        expected: 'a comma-separated list of host:port',
        description: 'Seed nodes of a Redis Cluster (host:port,...); when set a Cluster client is used.',
      }),
    ),
    // Braces would create a hash tag of their own and break the per-partition slot layout.
    REDIS_KEY_PREFIX: Type.String({
      minLength: 1,
      maxLength: 64,
      pattern: '^[^\\s{}]+$',
      expected: 'no whitespace and no { or }',
      default: 'afc:',
      description: 'Prefix of every Redis key.',
    }),
    REDIS_COMMAND_TIMEOUT_MS: integer(1, 60_000, command_timeout_ms, 'Timeout of one Redis command.'),
    REDIS_PARTITIONS: integer(
      1,
      16_384,
      64,
      'Number of cardholder partitions (hash tags); fixed once data exists in Redis.',
    ),
  };
}

export function amqpProperties() {
  return {
    AMQP_URL: urlString(['amqp:', 'amqps:'], {
      default: 'amqp://guest:guest@127.0.0.1:5672',
      description: 'RabbitMQ URL; its password is never printed.',
    }),
    AMQP_NAMESPACE: Type.String({
      default: '',
      maxLength: 64,
      pattern: '^[a-z0-9_-]*$',
      description:
        'Prefix of every exchange and queue name, so several environments can share one broker (empty: none).',
    }),
    AMQP_PREFETCH: integer(1, 65_535, 32, 'Unacknowledged deliveries per consumer.'),
    AMQP_CONFIRM_TIMEOUT_MS: integer(100, 300_000, 5_000, 'Time a publish waits for the broker confirm.'),
    AMQP_MAX_UNCONFIRMED: integer(
      1,
      100_000,
      1_000,
      'Publishes awaiting confirmation before publishing waits.',
    ),
  };
}

export function marqetaProperties() {
  return {
    MARQETA_BASE_URL: urlString(['http:', 'https:'], {
      default: 'http://127.0.0.1:4010/v3',
      description: 'Marqeta Core API base URL (default: the local marqeta-sim).',
    }),
    MARQETA_APPLICATION_TOKEN: Type.String({
      minLength: 1,
      maxLength: 100,
      default: 'afc-local-application-token',
      description: 'Marqeta application token (Basic auth user).',
    }),
    MARQETA_ADMIN_ACCESS_TOKEN: Type.String({
      minLength: 1,
      maxLength: 200,
      secret: true,
      default: 'afc-local-admin-access-token',
      description: 'Marqeta admin access token (Basic auth password).',
    }),
    MARQETA_TIMEOUT_MS: integer(100, 120_000, 10_000, 'Timeout of one Marqeta Core API request.'),
  };
}

// Basic auth splits user from password at the first colon, so a username cannot hold one.
function basicUsername(default_value: string, description: string) {
  return Type.String({
    minLength: 1,
    maxLength: 50,
    pattern: '^[\\x21-\\x39\\x3b-\\x7e]+$',
    expected: 'visible ASCII characters other than :',
    default: default_value,
    description,
  });
}

function secretText(minLength: number, maxLength: number, default_value: string, description: string) {
  return Type.String({ minLength, maxLength, secret: true, default: default_value, description });
}

export function authorizerProperties() {
  return {
    // Marqeta's gateway credentials: username 1-50 characters, password 20-100.
    JIT_BASIC_USERNAME: basicUsername('afc-jit', 'Basic auth user Marqeta presents to the JIT gateway.'),
    JIT_BASIC_PASSWORD: secretText(
      20,
      100,
      'afc-local-jit-password-0000',
      'Basic auth password Marqeta presents to the JIT gateway.',
    ),
    JIT_CUSTOM_HEADER_NAME: Type.Optional(
      Type.String({
        pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
        maxLength: 100,
        expected: 'an HTTP header name',
        set_together_with: ['JIT_CUSTOM_HEADER_VALUE'],
        description: 'Extra header Marqeta sends on JIT requests (set with JIT_CUSTOM_HEADER_VALUE).',
      }),
    ),
    JIT_CUSTOM_HEADER_VALUE: Type.Optional(
      Type.String({
        pattern: '^[\\x21-\\x7e]([\\x20-\\x7e]*[\\x21-\\x7e])?$',
        maxLength: 1_000,
        expected: 'visible ASCII without leading or trailing spaces',
        secret: true,
        set_together_with: ['JIT_CUSTOM_HEADER_NAME'],
        description: 'Expected value of JIT_CUSTOM_HEADER_NAME (set with JIT_CUSTOM_HEADER_NAME).',
      }),
    ),
    DECISION_DEADLINE_MS: integer(
      10,
      2_500,
      250,
      'Deadline of one JIT decision; past it the answer is a decline with memo timeout.',
    ),
    JIT_BODY_LIMIT_BYTES: integer(1_024, 1_048_576, 65_536, 'Largest JIT request body accepted.'),
    ...refundModeProperty(),
    OUTBOX_RELAY_BATCH: integer(1, 10_000, 100, 'Outbox stream entries the relay reads per batch.'),
    OUTBOX_MAX_EVENTS_PER_PARTITION: integer(
      1,
      10_000_000,
      20_000,
      "Events one partition's outbox stream may hold (they wait there while RabbitMQ is away) before decisions are declined with memo outbox_full; size it to the Redis memory set aside for events (about 1 KB each, 64 partitions).",
    ),
    REDIS_CLOCK_CHECK_INTERVAL_MS: integer(
      1_000,
      3_600_000,
      60_000,
      'How often the Redis server clock is compared with ours (the decision script reads the deadline off the Redis clock).',
    ),
    REDIS_CLOCK_SKEW_MAX_MS: integer(
      1,
      2_500,
      100,
      'Clock difference with Redis beyond which the authorizer logs an error at every check.',
    ),
  };
}

export function webhooksProperties() {
  return {
    WEBHOOK_BASIC_USERNAME: basicUsername(
      'afc-webhooks',
      'Basic auth user Marqeta presents to the webhooks.',
    ),
    WEBHOOK_BASIC_PASSWORD: secretText(
      20,
      100,
      'afc-local-webhook-password-0000',
      'Basic auth password Marqeta presents to the webhooks.',
    ),
    WEBHOOK_SIGNATURE_SECRET: secretText(
      16,
      256,
      'afc-local-webhook-signature-secret',
      'HMAC key of the X-Marqeta-Signature header.',
    ),
    WEBHOOK_SIGNATURE_ALGORITHM: oneOf(
      ['sha256', 'sha1'],
      'sha256',
      'HMAC hash of the webhook signature (sha1 on older Marqeta configurations).',
    ),
    WEBHOOK_BODY_LIMIT_BYTES: integer(1_024, 16_777_216, 1_048_576, 'Largest webhook request body accepted.'),
    MARQETA_TRANSITIONS_KEEP_DAYS: integer(
      7,
      3_650,
      30,
      'Days a recorded Marqeta card or user transition is kept once a newer one of the same card or user was recorded (the newest is always kept). Keep it past the days Marqeta retries a webhook.',
    ),
  };
}

// The authorizer applies refunds it sees; settlement applies the ones only Marqeta reported:
// both must treat a business refund the same way.
function refundModeProperty() {
  return {
    REFUND_BUSINESS_MODE: oneOf(
      ['counters_unchanged', 'restore_counters'],
      'counters_unchanged',
      'Whether a business-card refund gives back velocity counters.',
    ),
  };
}

export function settlementProperties() {
  return {
    ...refundModeProperty(),
    HOLD_EXPIRY_HOURS: integer(1, 8_760, 168, 'Age after which an uncleared authorization hold expires.'),
    HOLD_EXPIRY_SWEEP_INTERVAL_MS: integer(
      0,
      86_400_000,
      60_000,
      'Time between two expiry sweeps of one settlement process (jittered); 0 runs none.',
    ),
    HOLD_EXPIRY_SWEEP_BATCH: integer(1, 10_000, 100, 'Expired holds one sweep ends at most.'),
  };
}

export function apiProperties() {
  return {
    API_ADMIN_KEY: secretText(
      20,
      200,
      'afc-local-admin-key-0000000',
      'Key that authenticates control-plane calls.',
    ),
    API_RATE_LIMIT_PER_MINUTE: integer(
      1,
      1_000_000,
      600,
      'Control-plane requests allowed per client and minute.',
    ),
    PERSONAL_ISSUE_STUCK_AFTER_MS: integer(
      60_000,
      86_400_000,
      900_000,
      'A personal card still unissued this long after it was recorded gets its issue command again (MongoDB store). Keep it past the longest issuance through the queue.',
    ),
    PERSONAL_ISSUE_SWEEP_INTERVAL_MS: integer(
      1_000,
      3_600_000,
      60_000,
      'How often the api looks for personal cards stuck unissued (jittered), one page per round.',
    ),
  };
}
