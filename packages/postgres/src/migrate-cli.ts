// `pnpm migrate`: creates the database if it does not exist, applies pending migrations and
// logs what it applied as JSON lines. Exit code 0 on success (nothing to apply included).
import { createLogger, type Logger } from '@afc/log';
import { createPostgres, type PostgresOptions } from './client.ts';
import { PostgresConnectError } from './errors.ts';
import { runMigrations } from './migrations.ts';

interface MigrateSettings {
  readonly database_url: string;
  readonly connect_timeout_ms: number;
  readonly idle_timeout_ms: number;
  readonly statement_timeout_ms: number;
  readonly slow_query_ms: number;
  readonly connect_attempts: number;
  readonly log_level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

const log_levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const close_timeout_ms = 5_000;

// TODO(@afc/config): replace readMigrateSettings with
// loadConfigOrExit(migrateConfigSchema, 'migrate') once packages/config exports it. Names,
// defaults and bounds here are those of its postgresProperties().
function readMigrateSettings(env: NodeJS.ProcessEnv): { settings?: MigrateSettings; problems: string[] } {
  const problems: string[] = [];
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (Number.isSafeInteger(value) && value >= min && value <= max) return value;
    problems.push(`${name} must be an integer from ${min} to ${max}`);
    return fallback;
  };
  const database_url = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/atlanticfrewaycard';
  if (databaseName(database_url) === undefined) {
    problems.push('DATABASE_URL must be a postgres:// or postgresql:// URL naming a database');
  }
  const log_level = log_levels.find((level) => level === (env.LOG_LEVEL ?? 'info'));
  if (log_level === undefined) problems.push(`LOG_LEVEL must be one of ${log_levels.join(', ')}`);
  const settings: MigrateSettings = {
    database_url,
    connect_timeout_ms: integer('PG_CONNECT_TIMEOUT_MS', 5_000, 100, 60_000),
    idle_timeout_ms: integer('PG_IDLE_TIMEOUT_MS', 30_000, 1_000, 3_600_000),
    statement_timeout_ms: integer('PG_STATEMENT_TIMEOUT_MS', 30_000, 1, 3_600_000),
    slow_query_ms: integer('PG_SLOW_QUERY_MS', 100, 0, 600_000),
    connect_attempts: integer('PG_CONNECT_ATTEMPTS', 5, 1, 100),
    log_level: log_level ?? 'info',
  };
  return problems.length === 0 ? { settings, problems } : { problems };
}

function databaseName(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') return undefined;
    const name = decodeURIComponent(parsed.pathname.slice(1));
    return name === '' || name.includes('/') ? undefined : name;
  } catch {
    return undefined;
  }
}

function poolOptions(settings: MigrateSettings, url: string): PostgresOptions {
  return {
    url,
    application_name: 'afc-migrate',
    // Migrations run one transaction at a time.
    max_connections: 2,
    connect_timeout_ms: settings.connect_timeout_ms,
    idle_timeout_ms: settings.idle_timeout_ms,
    statement_timeout_ms: settings.statement_timeout_ms,
    slow_query_ms: settings.slow_query_ms,
  };
}

// Through the maintenance database `postgres`, only once the target is known to be missing:
// in deployment the database usually exists and the role may not reach `postgres` at all.
async function createDatabase(settings: MigrateSettings, name: string, logger: Logger): Promise<void> {
  const maintenance_url = new URL(settings.database_url);
  maintenance_url.pathname = '/postgres';
  const admin = createPostgres(
    { ...poolOptions(settings, maintenance_url.toString()), max_connections: 1 },
    logger,
  );
  try {
    await admin.connectWithRetry({ attempts: settings.connect_attempts });
    const existing = await admin.sql`select 1 from pg_database where datname = ${name}`;
    if (existing.length > 0) return;
    try {
      await admin.sql`create database ${admin.sql(name)}`;
      logger.info({ database: name }, 'database created');
    } catch (error) {
      // Another runner created it between our check and our create: that is the goal anyway.
      if ((error as { code?: unknown }).code !== '42P04') throw error;
    }
  } finally {
    await admin.close(close_timeout_ms);
  }
}

async function migrate(settings: MigrateSettings, logger: Logger): Promise<void> {
  const name = databaseName(settings.database_url) ?? '';
  let client = createPostgres(poolOptions(settings, settings.database_url), logger);
  try {
    try {
      await client.connectWithRetry({ attempts: settings.connect_attempts });
    } catch (error) {
      const missing =
        error instanceof PostgresConnectError && (error.cause as { code?: unknown })?.code === '3D000';
      if (!missing) throw error;
      await client.close(close_timeout_ms);
      await createDatabase(settings, name, logger);
      client = createPostgres(poolOptions(settings, settings.database_url), logger);
      await client.connectWithRetry({ attempts: settings.connect_attempts });
    }
    const { applied } = await runMigrations({ sql: client.sql, logger });
    logger.info({ database: name, target: client.target, applied }, 'migrations complete');
  } finally {
    await client.close(close_timeout_ms);
  }
}

async function main(): Promise<number> {
  const { settings, problems } = readMigrateSettings(process.env);
  const logger = createLogger({ name: 'migrate', level: settings?.log_level ?? 'info' });
  if (settings === undefined) {
    logger.fatal({ problems }, 'invalid configuration');
    return 1;
  }
  try {
    await migrate(settings, logger);
    return 0;
  } catch (error) {
    logger.fatal({ err: error }, 'migration run failed');
    return 1;
  }
}

process.exitCode = await main();
