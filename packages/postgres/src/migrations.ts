import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@afc/log';
import type { Sql, TransactionSql } from './client.ts';
import { AfcPostgresError, MigrationError, postgres_error_codes } from './errors.ts';

// Migrations are plain SQL files `NNNN_snake_name.sql`, applied in lexical order, each in a
// transaction of its own together with its row in schema_migrations, so a file is either
// applied and recorded or not at all. Files must therefore not contain transaction control
// (begin/commit) nor statements PostgreSQL refuses inside a transaction (create index
// concurrently, alter type … add value before use): such a change needs its own tooling.
// An applied file is never edited: its sha256 is recorded and compared on every run.

// Next to src/ in the source tree and next to dist/ in a build (package.json ships it).
export const default_migrations_directory = fileURLToPath(new URL('../migrations/', import.meta.url));

// The key every runner locks (pg_advisory_xact_lock(class_id, object_id)): two services
// starting at once take turns instead of racing on the same DDL.
export const migration_lock = { class_id: 0x4146434d, object_id: 1 } as const; // 'AFCM'

export interface MigrationFile {
  readonly version: string;
  readonly name: string;
  // `${version}_${name}`: how a migration is named in logs and results.
  readonly id: string;
  readonly checksum: string;
  readonly text: string;
}

export interface RunMigrationsOptions {
  readonly sql: Sql;
  readonly logger: Logger;
  readonly directory?: string;
  // How long one step waits for a lock: another runner's turn, or a table a migration alters
  // while a long transaction holds it (better to fail the deploy than to stall traffic).
  readonly lock_timeout_ms?: number;
  readonly statement_timeout_ms?: number;
}

interface AppliedRow {
  readonly version: string;
  readonly name: string;
  readonly checksum: string;
}

const file_pattern = /^(\d{4})_([a-z0-9]+(?:_[a-z0-9]+)*)\.sql$/;
const default_lock_timeout_ms = 60_000;
const default_statement_timeout_ms = 15 * 60_000;

export async function readMigrationFiles(directory: string): Promise<MigrationFile[]> {
  const names = (await readdir(directory)).filter((name) => name.endsWith('.sql')).sort();
  const files: MigrationFile[] = [];
  const seen = new Set<string>();
  for (const file_name of names) {
    const match = file_pattern.exec(file_name);
    if (match === null || match[1] === undefined || match[2] === undefined) {
      throw new MigrationError(
        postgres_error_codes.migration_invalid,
        `migration file ${file_name} is not named NNNN_snake_name.sql`,
        file_name,
      );
    }
    const version = match[1];
    if (seen.has(version)) {
      throw new MigrationError(
        postgres_error_codes.migration_invalid,
        `migration version ${version} is used by more than one file`,
        file_name,
      );
    }
    seen.add(version);
    const text = await readFile(join(directory, file_name), 'utf8');
    files.push({ version, name: match[2], id: `${version}_${match[2]}`, checksum: checksum(text), text });
  }
  return files;
}

// Line endings are normalised first: a checkout with CRLF must not look like an edited file.
export function checksum(text: string): string {
  return createHash('sha256').update(text.replaceAll('\r\n', '\n')).digest('hex');
}

export async function runMigrations(options: RunMigrationsOptions): Promise<{ applied: string[] }> {
  const files = await readMigrationFiles(options.directory ?? default_migrations_directory);
  const applied_before = await guard(undefined, () =>
    lockedStep(options, async (tx) => {
      await createMigrationsTable(tx);
      const rows = await tx<
        AppliedRow[]
      >`select version, name, checksum from schema_migrations order by version`;
      verifyApplied(files, rows, options.logger);
      return new Set(rows.map((row) => row.version));
    }),
  );
  const highest_before = [...applied_before].sort().at(-1) ?? '';
  const applied: string[] = [];
  for (const file of files) {
    if (applied_before.has(file.version)) continue;
    if (file.version < highest_before) {
      // Two branches numbered their files close together; lexical order is still what runs.
      options.logger.warn(
        { migration: file.id, highest_applied: highest_before },
        'applying migration out of order',
      );
    }
    const started_at = performance.now();
    const did_apply = await applyOne(options, file);
    if (!did_apply) continue;
    applied.push(file.id);
    options.logger.info(
      { migration: file.id, duration_ms: Math.round(performance.now() - started_at) },
      'migration applied',
    );
  }
  return { applied };
}

// Applies one file unless another runner did while we waited for the lock.
function applyOne(options: RunMigrationsOptions, file: MigrationFile): Promise<boolean> {
  return guard(file.id, () =>
    lockedStep(options, async (tx) => {
      const [row] = await tx<AppliedRow[]>`
        select version, name, checksum from schema_migrations where version = ${file.version}`;
      if (row !== undefined) {
        verifyApplied([file], [row], options.logger);
        return false;
      }
      await tx.unsafe(file.text);
      await tx`
        insert into schema_migrations (version, name, checksum)
        values (${file.version}, ${file.name}, ${file.checksum})`;
      return true;
    }),
  );
}

// Database errors (a failing statement, a lock wait past lock_timeout) become one coded error
// naming the migration; our own coded errors pass through.
async function guard<T>(migration: string | undefined, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof AfcPostgresError) throw error;
    const what = migration === undefined ? 'reading schema_migrations' : `migration ${migration}`;
    throw new MigrationError(
      postgres_error_codes.migration_failed,
      `${what} failed and was rolled back: ${describePgError(error)}`,
      migration,
      error,
    );
  }
}

// One transaction holding the runners' lock; its timeouts are local to the transaction.
async function lockedStep<T>(
  options: RunMigrationsOptions,
  fn: (tx: TransactionSql) => Promise<T>,
): Promise<T> {
  const lock_timeout_ms = options.lock_timeout_ms ?? default_lock_timeout_ms;
  const statement_timeout_ms = options.statement_timeout_ms ?? default_statement_timeout_ms;
  const result = await options.sql.begin(async (tx) => {
    await tx`
      select set_config('lock_timeout', ${String(lock_timeout_ms)}, true),
             set_config('statement_timeout', ${String(statement_timeout_ms)}, true)`;
    await tx`select pg_advisory_xact_lock(${migration_lock.class_id}::int4, ${migration_lock.object_id}::int4)`;
    return fn(tx);
  });
  return result as T;
}

async function createMigrationsTable(tx: TransactionSql): Promise<void> {
  // Checked first (under the lock) rather than `if not exists`, whose notice would be logged on
  // every start.
  const [found] = await tx<
    { exists: boolean }[]
  >`select to_regclass('schema_migrations') is not null as exists`;
  if (found?.exists === true) return;
  await tx`
    create table schema_migrations (
      version text primary key check (version ~ '^[0-9]{4}$'),
      name text not null,
      checksum text not null check (checksum ~ '^[0-9a-f]{64}$'),
      applied_at timestamptz not null default now()
    )`;
}

function verifyApplied(files: readonly MigrationFile[], rows: readonly AppliedRow[], logger: Logger): void {
  const by_version = new Map(files.map((file) => [file.version, file]));
  for (const row of rows) {
    const file = by_version.get(row.version);
    if (file === undefined) {
      // A newer release applied it (rolling deploy): this build runs on a schema ahead of it.
      logger.warn({ migration: `${row.version}_${row.name}` }, 'applied migration has no file in this build');
      continue;
    }
    if (file.checksum !== row.checksum) {
      throw new MigrationError(
        postgres_error_codes.migration_checksum,
        `migration ${file.id} was changed after it was applied (sha256 ${file.checksum} != recorded ${row.checksum})`,
        file.id,
      );
    }
  }
}

// SQLSTATE and message only: a detail line can quote row values.
function describePgError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? `${code} ${error.message}` : error.message;
}
