export {
  type ConnectRetryOptions,
  createPostgres,
  int8_type,
  type PingResult,
  type PostgresClient,
  type PostgresOptions,
  type PostgresStats,
  type Sql,
  type TransactionOptions,
  type TransactionSql,
} from './client.ts';
export {
  AfcPostgresError,
  MigrationError,
  PostgresConnectError,
  type PostgresErrorCode,
  PostgresTimeoutError,
  postgres_error_codes,
} from './errors.ts';
export {
  checksum,
  default_migrations_directory,
  type MigrationFile,
  migration_lock,
  type RunMigrationsOptions,
  readMigrationFiles,
  runMigrations,
} from './migrations.ts';
export { backoffDelay, withTimeout } from './timing.ts';
