import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@afc/log';
import postgres from 'postgres';
import { PostgresConnectError } from './errors.ts';
import { createQueryObserver, instrumentSql } from './instrument.ts';
import { backoffDelay, withTimeout } from './timing.ts';

export interface PostgresOptions {
  readonly url: string;
  // Shown in pg_stat_activity: which service holds which connection.
  readonly application_name: string;
  readonly max_connections?: number;
  readonly connect_timeout_ms?: number;
  readonly idle_timeout_ms?: number;
  readonly max_lifetime_ms?: number;
  // Server-side session settings, sent in the startup packet: PostgreSQL itself cancels a
  // statement (SQLSTATE 57014) or a lock wait (55P03) past them, and ends a session left idle
  // inside a transaction, so a stuck caller cannot hold row locks on cards for ever.
  readonly statement_timeout_ms?: number;
  readonly lock_timeout_ms?: number;
  readonly idle_in_transaction_timeout_ms?: number;
  readonly slow_query_ms?: number;
}

export interface ConnectRetryOptions {
  readonly attempts?: number;
  readonly base_delay_ms?: number;
  readonly max_delay_ms?: number;
  // Bound of one attempt; defaults to connect_timeout_ms.
  readonly attempt_timeout_ms?: number;
}

export interface TransactionOptions {
  readonly isolation?: 'read committed' | 'repeatable read' | 'serializable';
  readonly read_only?: boolean;
}

export interface PostgresStats {
  readonly max_connections: number;
  // Counted by postgres.js's onclose hook. Connections opened are not observable without the
  // `debug` hook (see instrument.ts), so no "open connections" figure is offered.
  readonly connections_closed: number;
  readonly queries_in_flight: number;
  readonly queries_completed: number;
  readonly queries_failed: number;
  readonly slow_queries: number;
}

export type PingResult =
  | { readonly ok: true; readonly duration_ms: number }
  | { readonly ok: false; readonly error_code: string };

// int8 columns come back as numbers: money is integer minor units in bigint columns, and a
// string or a float would be a bug waiting to happen. A value past 2^53 cannot be represented
// exactly, so it fails the query loudly instead of being rounded.
export type Sql = postgres.Sql<{ int8: number }>;
export type TransactionSql = postgres.TransactionSql<{ int8: number }>;

export interface PostgresClient {
  readonly sql: Sql;
  // host:port/database, never credentials: for logs and error messages.
  readonly target: string;
  transaction<T>(fn: (tx: TransactionSql) => Promise<T>, options?: TransactionOptions): Promise<T>;
  stats(): PostgresStats;
  ping(timeout_ms: number): Promise<PingResult>;
  connectWithRetry(options?: ConnectRetryOptions): Promise<{ attempts: number }>;
  close(timeout_ms: number): Promise<void>;
}

const defaults = {
  max_connections: 20,
  connect_timeout_ms: 5_000,
  idle_timeout_ms: 30_000,
  max_lifetime_ms: 30 * 60_000,
  statement_timeout_ms: 30_000,
  lock_timeout_ms: 10_000,
  idle_in_transaction_timeout_ms: 60_000,
  slow_query_ms: 100,
} as const;

type Settings = Required<PostgresOptions>;

const keep_alive_s = 60;
// Reconnects of pooled connections after an error, and connect retries at start.
const reconnect_backoff = { base_delay_ms: 100, max_delay_ms: 5_000 } as const;
const default_connect_attempts = 5;

export const int8_type: postgres.PostgresType<number> = {
  to: 20,
  from: [20],
  serialize: (value: number) => {
    if (typeof value === 'number')
      assert(Number.isSafeInteger(value), 'int8 parameter must be a safe integer');
    return String(value);
  },
  parse: (raw: string) => {
    const value = Number(raw);
    // The value itself stays out of the message: it may be an amount.
    assert(
      Number.isSafeInteger(value),
      `int8 value outside the safe integer range (${raw.length} characters)`,
    );
    return value;
  },
};

export function createPostgres(options: PostgresOptions, logger: Logger): PostgresClient {
  const settings = resolveSettings(options);
  const observer = createQueryObserver(logger, settings.slow_query_ms);
  let connections_closed = 0;
  const raw = postgres(options.url, {
    ...commonOptions(settings),
    max: settings.max_connections,
    onnotice: (notice: postgres.Notice) => logNotice(logger, notice),
    idle_timeout: settings.idle_timeout_ms / 1_000,
    max_lifetime: settings.max_lifetime_ms / 1_000,
    onclose: () => {
      connections_closed += 1;
    },
  });
  const sql: Sql = instrumentSql(raw, observer);
  const target = `${raw.options.host[0] ?? '?'}:${raw.options.port[0] ?? '?'}/${raw.options.database}`;
  const { counters } = observer;
  return {
    sql,
    target,
    transaction: (fn, transaction_options) => runTransaction(sql, fn, transaction_options ?? {}),
    stats: () => ({
      max_connections: settings.max_connections,
      connections_closed,
      queries_in_flight: counters.in_flight,
      queries_completed: counters.completed,
      queries_failed: counters.failed,
      slow_queries: counters.slow,
    }),
    ping: (timeout_ms) => ping(sql, timeout_ms),
    connectWithRetry: (retry_options) => connectWithRetry(settings, logger, target, retry_options ?? {}),
    close: (timeout_ms) => raw.end({ timeout: timeout_ms / 1_000 }),
  };
}

function resolveSettings(options: PostgresOptions): Settings {
  const settings: Settings = { ...defaults, ...options };
  for (const [key, value] of Object.entries(settings)) {
    if (typeof value === 'number')
      assert(Number.isSafeInteger(value) && value >= 0, `${key} must be an integer >= 0`);
  }
  assert(settings.max_connections >= 1, 'max_connections must be >= 1');
  assert(settings.application_name.length > 0, 'application_name must not be empty');
  return settings;
}

// Every option postgres.js would otherwise take from its own defaults or from PG* environment
// variables is set here. `debug` stays off: it attaches parameter values to errors.
function commonOptions(settings: Settings) {
  return {
    connect_timeout: settings.connect_timeout_ms / 1_000,
    keep_alive: keep_alive_s,
    prepare: true,
    debug: false,
    fetch_types: true,
    types: { int8: int8_type },
    backoff: (retries: number) => backoffDelay(retries, reconnect_backoff) / 1_000,
    connection: {
      application_name: settings.application_name,
      statement_timeout: settings.statement_timeout_ms,
      lock_timeout: settings.lock_timeout_ms,
      idle_in_transaction_session_timeout: settings.idle_in_transaction_timeout_ms,
    },
  };
}

function logNotice(logger: Logger, notice: postgres.Notice): void {
  const fields = { notice: { severity: notice.severity, code: notice.code, message: notice.message } };
  if (notice.severity === 'WARNING') logger.warn(fields, 'postgres notice');
  else if (notice.severity === 'NOTICE') logger.info(fields, 'postgres notice');
  else logger.debug(fields, 'postgres notice');
}

async function runTransaction<T>(
  sql: Sql,
  fn: (tx: TransactionSql) => Promise<T>,
  options: TransactionOptions,
): Promise<T> {
  const mode = [
    options.isolation ? `isolation level ${options.isolation}` : '',
    options.read_only ? 'read only' : '',
  ]
    .filter((part) => part !== '')
    .join(' ');
  // sql.begin commits when fn resolves and rolls back (then rethrows) when it throws.
  const result = await sql.begin(mode, (tx) => fn(tx));
  return result as T;
}

async function ping(sql: Sql, timeout_ms: number): Promise<PingResult> {
  const started_at = performance.now();
  try {
    await withTimeout(sql`select 1`, timeout_ms, 'postgres ping');
    return { ok: true, duration_ms: Math.round(performance.now() - started_at) };
  } catch (error) {
    return { ok: false, error_code: errorCode(error) ?? 'UNKNOWN' };
  }
}

async function connectWithRetry(
  settings: Settings,
  logger: Logger,
  target: string,
  options: ConnectRetryOptions,
): Promise<{ attempts: number }> {
  const attempts = options.attempts ?? default_connect_attempts;
  assert(Number.isSafeInteger(attempts) && attempts >= 1, 'attempts must be an integer >= 1');
  const backoff = {
    base_delay_ms: options.base_delay_ms ?? reconnect_backoff.base_delay_ms,
    max_delay_ms: options.max_delay_ms ?? reconnect_backoff.max_delay_ms,
  };
  const attempt_timeout_ms = options.attempt_timeout_ms ?? settings.connect_timeout_ms;
  let last_error: unknown;
  let attempt = 1;
  for (; attempt <= attempts; attempt += 1) {
    try {
      await probe(settings, attempt_timeout_ms);
      if (attempt > 1) logger.info({ target, attempt }, 'postgres reachable');
      return { attempts: attempt };
    } catch (error) {
      last_error = error;
      if (isPermanent(error) || attempt === attempts) break;
      const delay_ms = backoffDelay(attempt, backoff);
      logger.warn(
        { target, attempt, attempts, delay_ms, error_code: errorCode(error) },
        'postgres connect attempt failed, retrying',
      );
      await sleep(delay_ms);
    }
  }
  const made = Math.min(attempt, attempts);
  throw new PostgresConnectError(
    `could not connect to PostgreSQL at ${target} after ${made} attempt(s): ${describeError(last_error)}`,
    made,
    last_error,
  );
}

// One `select 1` on a connection of its own, always torn down. Not through the pool: when a
// server (or a proxy before it) accepts and then closes the socket during startup, postgres.js
// 3.4.9 reconnects in a tight loop and never settles the query (porsager/postgres#1193); ending
// the probe client is the only way to stop that loop, and it must not take the pool with it.
async function probe(settings: Settings, timeout_ms: number): Promise<void> {
  const client = postgres(settings.url, {
    ...commonOptions(settings),
    max: 1,
    fetch_types: false,
    // A reconnect already scheduled when the probe is ended can still open a socket: it closes
    // itself after a second instead of keeping the process alive.
    idle_timeout: 1,
    max_lifetime: 60,
    onnotice: () => {},
  });
  try {
    await withTimeout(client`select 1`, timeout_ms, 'postgres connection attempt');
  } finally {
    await client.end({ timeout: 0 });
  }
}

// Retrying cannot fix bad credentials or a missing database: fail at once and say so.
function isPermanent(error: unknown): boolean {
  const code = errorCode(error);
  if (code === undefined) return false;
  return code.startsWith('28') || code === '3D000' || code === 'AUTH_TYPE_NOT_IMPLEMENTED';
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = errorCode(error);
  return code === undefined ? error.message : `${code} ${error.message}`;
}
