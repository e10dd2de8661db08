// The coded errors of @afc/postgres. Callers match on `code`, never on the message.
export const postgres_error_codes = {
  connect_failed: 'AFC_PG_CONNECT_FAILED',
  timeout: 'AFC_PG_TIMEOUT',
  migration_invalid: 'AFC_PG_MIGRATION_INVALID',
  migration_checksum: 'AFC_PG_MIGRATION_CHECKSUM',
  migration_failed: 'AFC_PG_MIGRATION_FAILED',
} as const;

export type PostgresErrorCode = (typeof postgres_error_codes)[keyof typeof postgres_error_codes];

export class AfcPostgresError extends Error {
  readonly code: PostgresErrorCode;

  constructor(code: PostgresErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AfcPostgresError';
    this.code = code;
  }
}

// PostgreSQL could not be reached (or refused us) within the configured attempts.
export class PostgresConnectError extends AfcPostgresError {
  readonly attempts: number;

  constructor(message: string, attempts: number, cause: unknown) {
    super(postgres_error_codes.connect_failed, message, { cause });
    this.name = 'PostgresConnectError';
    this.attempts = attempts;
  }
}

// A bounded wait (ping, one connection attempt) ran out.
export class PostgresTimeoutError extends AfcPostgresError {
  constructor(message: string) {
    super(postgres_error_codes.timeout, message);
    this.name = 'PostgresTimeoutError';
  }
}

// A migration file is malformed, was changed after it was applied, or failed to apply.
export class MigrationError extends AfcPostgresError {
  readonly migration: string | undefined;

  constructor(code: PostgresErrorCode, message: string, migration?: string, cause?: unknown) {
    super(code, message, cause === undefined ? undefined : { cause });
    this.name = 'MigrationError';
    this.migration = migration;
  }
}
