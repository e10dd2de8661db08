import assert from 'node:assert/strict';
import { type Logger, logLimiter, redactUrl } from '@afc/log';
import { Cluster, type ClusterNode, Redis, type RedisOptions } from 'ioredis';
import { RedisTimeoutError } from './errors.ts';
import { reconnectDelayMs } from './reconnect.ts';

// One type for both deployments: every command, defineCommand and the connection events
// exist on both, so code written against it runs unchanged on one node or on a Cluster.
export type RedisClient = Redis | Cluster;

interface CommonRedisOptions {
  // Prepended by ioredis to every key, KEYS of scripts included. Must hold no braces, so the
  // `{p}` right after it stays the first hash tag of the key. '' for none.
  readonly key_prefix: string;
  // A command with no answer within this fails (ioredis commandTimeout). The hot path sets it
  // under its decision deadline.
  readonly command_timeout_ms: number;
  // How many reconnections a command already sent may wait through before it fails. 1 on the
  // hot path: a decision must never wait on retries. Commands are resent after a reconnect
  // (autoResendUnfulfilledCommands), so writes sent through this client must be idempotent;
  // ours are (scripts keyed by JIT token or by version).
  readonly max_retries_per_request: number;
  readonly connect_timeout_ms: number;
  // false (the default): while disconnected a command fails at once instead of queueing past
  // the decision deadline. true only for callers that prefer waiting (batch tools).
  readonly enable_offline_queue?: boolean;
  // Shown by CLIENT LIST: which service holds a connection.
  readonly connection_name?: string;
  // ioredis resends commands left unanswered by a dropped connection once it reconnects, after
  // any outage. true (the default) for idempotent background work; false on the hot path, where
  // a decision answered long ago must not run late (the caller releases by JIT token instead).
  readonly resend_unanswered?: boolean;
  // At most one error (and one reconnecting) log line per interval: an outage does not flood
  // the logs; the next line carries how many were suppressed.
  readonly error_log_interval_ms?: number;
}

export type CreateRedisOptions = CommonRedisOptions &
  (
    | { readonly url: string; readonly cluster_nodes?: never }
    // redis:// or rediss:// URLs of some cluster nodes; the rest is discovered. Credentials,
    // when any, are the same on every node.
    | { readonly cluster_nodes: readonly string[]; readonly url?: never }
  );

const default_error_log_interval_ms = 10_000;

export function createRedis(options: CreateRedisOptions, logger: Logger): RedisClient {
  assert.ok(
    (options.url === undefined) !== (options.cluster_nodes === undefined),
    'exactly one of url, cluster_nodes',
  );
  assert.ok(
    !/[{}]/.test(options.key_prefix),
    'key_prefix must not contain braces: it would steal the hash tag',
  );
  assert.ok(options.command_timeout_ms > 0 && options.connect_timeout_ms > 0, 'timeouts must be positive');
  assert.ok(Number.isSafeInteger(options.max_retries_per_request) && options.max_retries_per_request >= 0);
  const client =
    options.url !== undefined
      ? createSingle(options.url, options)
      : createCluster(options.cluster_nodes, options);
  const target = options.url !== undefined ? redactUrl(options.url) : options.cluster_nodes.map(redactUrl);
  logConnectionEvents(client, logger.child({ redis: target }), options.error_log_interval_ms);
  return client;
}

// A second connection with the same options and the same connection logging (ioredis'
// duplicate() copies options but no listeners: an unheard 'error' event would be printed raw).
// For work that must never queue behind the hot path's commands, e.g. the outbox relay.
export function duplicateRedis(
  client: RedisClient,
  logger: Logger,
  connection_name: string,
  // Background work waits longer than a decision may.
  command_timeout_ms?: number,
): RedisClient {
  const override = {
    connectionName: connection_name,
    ...(command_timeout_ms === undefined ? {} : { commandTimeout: command_timeout_ms }),
  };
  // Cluster.duplicate replaces redisOptions whole: merged here, or the copy would lose the
  // credentials, TLS and timeouts every node connection needs.
  const copy =
    client instanceof Cluster
      ? client.duplicate(undefined, { redisOptions: { ...client.options.redisOptions, ...override } })
      : client.duplicate(override);
  logConnectionEvents(copy, logger.child({ redis: 'duplicate', connection_name }));
  return copy;
}

function connectionOptions(options: CommonRedisOptions) {
  return {
    commandTimeout: options.command_timeout_ms,
    maxRetriesPerRequest: options.max_retries_per_request,
    connectTimeout: options.connect_timeout_ms,
    autoResendUnfulfilledCommands: options.resend_unanswered ?? true,
    // Never auto-pipelining: ioredis keeps one auto-pipeline per connection in flight, and the
    // commands issued meanwhile wait for all of its replies, so Redis and the service take
    // turns instead of working at once. coalesceTurnWrites saves the same syscalls without it.
    enableAutoPipelining: false,
    noDelay: true,
    ...(options.connection_name === undefined ? {} : { connectionName: options.connection_name }),
  } satisfies RedisOptions;
}

function createSingle(url: string, options: CommonRedisOptions): Redis {
  return new Redis(url, {
    ...connectionOptions(options),
    keyPrefix: options.key_prefix,
    enableOfflineQueue: options.enable_offline_queue ?? false,
    enableReadyCheck: true,
    lazyConnect: false,
    retryStrategy: (attempt) => reconnectDelayMs(attempt),
    reconnectOnError: null,
  });
}

function createCluster(urls: readonly string[], options: CommonRedisOptions): Cluster {
  assert.ok(urls.length > 0, 'cluster_nodes must name at least one node');
  const nodes = urls.map((url) => new URL(url));
  const first = nodes[0];
  assert.ok(first !== undefined);
  for (const node of nodes) {
    assert.ok(
      node.protocol === 'redis:' || node.protocol === 'rediss:',
      'cluster node URLs are redis:// or rediss://',
    );
    assert.ok(
      node.protocol === first.protocol &&
        node.username === first.username &&
        node.password === first.password,
    );
  }
  const startup: ClusterNode[] = nodes.map((node) => ({
    host: node.hostname,
    port: Number(node.port || 6379),
  }));
  return new Cluster(startup, {
    // Reads from replicas could see a counter or a hold a moment old: every read goes to masters.
    scaleReads: 'master',
    keyPrefix: options.key_prefix,
    enableOfflineQueue: options.enable_offline_queue ?? false,
    enableReadyCheck: true,
    lazyConnect: false,
    // Reconnection of the cluster as a whole; single node connections are not retried on
    // their own (ioredis' default), the slot refresh replaces them.
    clusterRetryStrategy: (attempt) => reconnectDelayMs(attempt),
    maxRedirections: 16,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    retryDelayOnMoved: 0,
    slotsRefreshTimeout: options.connect_timeout_ms,
    slotsRefreshInterval: 5_000,
    enableAutoPipelining: false,
    redisOptions: {
      ...connectionOptions(options),
      ...(first.username === '' ? {} : { username: decodeURIComponent(first.username) }),
      ...(first.password === '' ? {} : { password: decodeURIComponent(first.password) }),
      ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
    },
  });
}

function logConnectionEvents(
  client: RedisClient,
  logger: Logger,
  interval_ms = default_error_log_interval_ms,
) {
  const error_limiter = logLimiter(interval_ms);
  const reconnect_limiter = logLimiter(interval_ms);
  const on_error = (err: unknown) => {
    const suppressed = error_limiter();
    if (suppressed !== undefined) logger.warn({ err, suppressed }, 'redis connection error');
  };
  client.on('connect', () => logger.info('redis connected'));
  client.on('ready', () => logger.info('redis ready'));
  client.on('error', on_error);
  client.on('node error', on_error);
  client.on('reconnecting', (delay_ms: unknown) => {
    const suppressed = reconnect_limiter();
    if (suppressed !== undefined) logger.warn({ delay_ms, suppressed }, 'redis reconnecting');
  });
  client.on('end', () => logger.info('redis connection ended'));
}

// The connections to the masters: the client itself, or every master of a Cluster. For work
// that must reach every node (a scan, a clock reading, corking the sockets).
export function masterNodes(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

// Resolves once the client can take commands. With the offline queue off (the default),
// commands sent before 'ready' fail at once, so a service waits for this before serving.
export async function waitReady(client: RedisClient, timeout_ms: number): Promise<void> {
  if (client.status === 'ready') return;
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  const on_ready = () => resolve();
  const timer = setTimeout(
    () => reject(new RedisTimeoutError(`redis not ready within ${timeout_ms} ms (status ${client.status})`)),
    timeout_ms,
  );
  client.once('ready', on_ready);
  try {
    await promise;
  } finally {
    clearTimeout(timer);
    client.off('ready', on_ready);
  }
}

export type RedisHealth =
  | { readonly ok: true; readonly latency_ms: number }
  | { readonly ok: false; readonly reason: string };

// Readiness: a PING answered within timeout_ms. A value, never a throw, for health routes. On
// a Cluster the PING reaches one master, not all of them.
export async function redisHealth(client: RedisClient, timeout_ms: number): Promise<RedisHealth> {
  const started_ms = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<RedisHealth>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, reason: `no PONG within ${timeout_ms} ms` }), timeout_ms);
  });
  const ping = client.ping().then(
    (reply): RedisHealth =>
      reply === 'PONG'
        ? { ok: true, latency_ms: performance.now() - started_ms }
        : { ok: false, reason: 'unexpected PING reply' },
    (error: unknown): RedisHealth => ({
      ok: false,
      reason: `${error instanceof Error ? error.message : String(error)} (status ${client.status})`,
    }),
  );
  try {
    return await Promise.race([ping, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// Graceful close for shutdown: QUIT lets the replies in flight arrive; past timeout_ms (or
// when QUIT cannot be sent) the connection is dropped, which also stops reconnecting.
export async function closeRedis(client: RedisClient, timeout_ms: number): Promise<void> {
  if (client.status === 'end') return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeout_ms);
  });
  const quit = client.quit().then(
    () => true,
    () => false,
  );
  try {
    if (!(await Promise.race([quit, timeout]))) client.disconnect();
  } finally {
    clearTimeout(timer);
  }
}
