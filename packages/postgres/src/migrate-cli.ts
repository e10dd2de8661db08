// `pnpm migrate`: creates the database if it does not exist, applies pending migrations and
// logs what it applied as JSON lines. Exit code 0 on success (nothing to apply included).
import { loadConfigOrExit, type MigrateConfig, migrateConfigSchema } from '@afc/config';
import { createLogger, type Logger } from '@afc/log';
import { createPostgres, type PostgresOptions } from './client.ts';
import { PostgresConnectError } from './errors.ts';
import { runMigrations } from './migrations.ts';

const close_timeout_ms = 5_000;

// The schema checks DATABASE_URL is a postgres URL; migrating needs it to name the database.
function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  if (name === '' || name.includes('/'))
    throw new Error('DATABASE_URL must name a database (postgres://host:port/name)');
  return name;
}

function poolOptions(settings: MigrateConfig, url: string): PostgresOptions {
  return {
    url,
    application_name: 'afc-migrate',
    // Migrations run one transaction at a time, whatever PG_POOL_MAX allows services.
    max_connections: Math.min(2, settings.PG_POOL_MAX),
    connect_timeout_ms: settings.PG_CONNECT_TIMEOUT_MS,
    idle_timeout_ms: settings.PG_IDLE_TIMEOUT_MS,
    statement_timeout_ms: settings.PG_STATEMENT_TIMEOUT_MS,
    slow_query_ms: settings.PG_SLOW_QUERY_MS,
  };
}

// Through the maintenance database `postgres`, only once the target is known to be missing:
// in deployment the database usually exists and the role may not reach `postgres` at all.
async function createDatabase(settings: MigrateConfig, name: string, logger: Logger): Promise<void> {
  const maintenance_url = new URL(settings.DATABASE_URL);
  maintenance_url.pathname = '/postgres';
  const admin = createPostgres(
    { ...poolOptions(settings, maintenance_url.toString()), max_connections: 1 },
    logger,
  );
  try {
    await admin.connectWithRetry({ attempts: settings.PG_CONNECT_ATTEMPTS });
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

async function migrate(settings: MigrateConfig, logger: Logger): Promise<void> {
  const name = databaseName(settings.DATABASE_URL);
  let client = createPostgres(poolOptions(settings, settings.DATABASE_URL), logger);
  try {
    try {
      await client.connectWithRetry({ attempts: settings.PG_CONNECT_ATTEMPTS });
    } catch (error) {
      const missing =
        error instanceof PostgresConnectError && (error.cause as { code?: unknown })?.code === '3D000';
      if (!missing) throw error;
      await client.close(close_timeout_ms);
      await createDatabase(settings, name, logger);
      client = createPostgres(poolOptions(settings, settings.DATABASE_URL), logger);
      await client.connectWithRetry({ attempts: settings.PG_CONNECT_ATTEMPTS });
    }
    const { applied } = await runMigrations({ sql: client.sql, logger });
    logger.info({ database: name, target: client.target, applied }, 'migrations complete');
  } finally {
    await client.close(close_timeout_ms);
  }
}

async function main(): Promise<number> {
  // Exits with a message naming every bad variable when the environment is invalid.
  const settings = loadConfigOrExit(migrateConfigSchema, 'migrate');
  const logger = createLogger({ name: 'migrate', level: settings.LOG_LEVEL });
  try {
    await migrate(settings, logger);
    return 0;
  } catch (error) {
    logger.fatal({ err: error }, 'migration run failed');
    return 1;
  }
}

process.exitCode = await main();
