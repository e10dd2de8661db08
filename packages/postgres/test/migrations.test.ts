import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase, waitUntil } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgres, migration_lock, type PostgresClient, runMigrations } from '../src/index.ts';
import { silentLogger } from './support.ts';

// One database for the file; each scenario uses its own range of versions (01xx, 02xx …), so
// their schema_migrations rows never meet. A runner only warns about rows without a file.
let database: TestDatabase;
let client: PostgresClient;
const opened: PostgresClient[] = [];
const directories: string[] = [];
const logger = silentLogger();

function open(application_name: string, max_connections = 2): PostgresClient {
  const opened_client = createPostgres({ url: database.url, application_name, max_connections }, logger);
  opened.push(opened_client);
  return opened_client;
}

async function migrationsDirectory(files: Record<string, string>): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'afc-migrations-'));
  directories.push(directory);
  await writeFiles(directory, files);
  return directory;
}

async function writeFiles(directory: string, files: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(files)) await writeFile(join(directory, name), text);
}

async function exists(table: string): Promise<boolean> {
  const [row] = await client.sql<{ found: boolean }[]>`select to_regclass(${table}) is not null as found`;
  return row?.found === true;
}

async function recordedVersions(prefix: string): Promise<string[]> {
  const rows = await client.sql<{ version: string }[]>`
    select version from schema_migrations where version like ${`${prefix}%`} order by version`;
  return rows.map((row) => row.version);
}

beforeAll(async () => {
  database = await createTestDatabase();
  client = open('afc-migrations-test');
});

afterAll(async () => {
  for (const each of opened) await each.close(1);
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
  await database?.drop();
});

describe('runMigrations', () => {
  it('lets two runners started at once apply each migration exactly once', async () => {
    const directory = await migrationsDirectory({
      '0101_create_runs.sql': 'create table runs (migration text not null);',
      '0102_first.sql': "insert into runs values ('0102');",
      '0103_second.sql': "insert into runs values ('0103');",
    });
    // The test holds the runners' lock until both are queued on it, so they really start together.
    const holder = open('afc-lock-holder', 1);
    const { class_id, object_id } = migration_lock;
    await holder.sql`select pg_advisory_lock(${class_id}::int4, ${object_id}::int4)`;
    const runners = [open('afc-runner-a'), open('afc-runner-b')];
    const both = Promise.all(runners.map((runner) => runMigrations({ sql: runner.sql, logger, directory })));
    await waitUntil(async () => {
      const [row] = await holder.sql<{ waiting: number }[]>`
        select count(*) as waiting from pg_locks
        where locktype = 'advisory' and not granted and classid::int8 = ${class_id} and objid::int8 = ${object_id}`;
      return row?.waiting === 2;
    });
    await holder.sql`select pg_advisory_unlock(${class_id}::int4, ${object_id}::int4)`;
    const [first, second] = await both;
    expect([...(first?.applied ?? []), ...(second?.applied ?? [])].sort()).toEqual([
      '0101_create_runs',
      '0102_first',
      '0103_second',
    ]);
    const runs = await client.sql<{ migration: string }[]>`select migration from runs order by migration`;
    expect(runs.map((row) => row.migration)).toEqual(['0102', '0103']);
    expect(await recordedVersions('01')).toEqual(['0101', '0102', '0103']);
  });

  it('refuses to run when an applied file was changed, before applying anything else', async () => {
    const directory = await migrationsDirectory({ '0201_accounts.sql': 'create table checksum_a (id int);' });
    expect(await runMigrations({ sql: client.sql, logger, directory })).toEqual({
      applied: ['0201_accounts'],
    });
    await writeFiles(directory, {
      '0201_accounts.sql': 'create table checksum_a (id bigint);',
      '0202_more.sql': 'create table checksum_b (id int);',
    });
    await expect(runMigrations({ sql: client.sql, logger, directory })).rejects.toMatchObject({
      code: 'AFC_PG_MIGRATION_CHECKSUM',
      migration: '0201_accounts',
    });
    expect(await exists('checksum_b')).toBe(false);
    expect(await recordedVersions('02')).toEqual(['0201']);
  });

  it('rolls a failing migration back entirely, records nothing of it and stops there', async () => {
    const broken =
      'create table failure_partial (id int); insert into failure_partial values (1); select 1 / 0;';
    const directory = await migrationsDirectory({
      '0301_ok.sql': 'create table failure_ok (id int);',
      '0302_broken.sql': broken,
      '0303_after.sql': 'create table failure_after (id int);',
    });
    await expect(runMigrations({ sql: client.sql, logger, directory })).rejects.toMatchObject({
      code: 'AFC_PG_MIGRATION_FAILED',
      migration: '0302_broken',
      cause: { code: '22012' },
    });
    expect(await exists('failure_ok')).toBe(true);
    expect(await exists('failure_partial')).toBe(false);
    expect(await exists('failure_after')).toBe(false);
    expect(await recordedVersions('03')).toEqual(['0301']);
    // Not recorded, so the corrected file is applied on the next run.
    await writeFiles(directory, { '0302_broken.sql': broken.replace('select 1 / 0;', '') });
    expect(await runMigrations({ sql: client.sql, logger, directory })).toEqual({
      applied: ['0302_broken', '0303_after'],
    });
  });

  it('rejects badly named files and duplicate versions, ignoring files that are not SQL', async () => {
    const badly_named = await migrationsDirectory({ 'README.md': '# notes', '1_first.sql': 'select 1;' });
    await expect(runMigrations({ sql: client.sql, logger, directory: badly_named })).rejects.toMatchObject({
      code: 'AFC_PG_MIGRATION_INVALID',
      migration: '1_first.sql',
    });
    const duplicated = await migrationsDirectory({ '0401_a.sql': 'select 1;', '0401_b.sql': 'select 2;' });
    await expect(runMigrations({ sql: client.sql, logger, directory: duplicated })).rejects.toMatchObject({
      code: 'AFC_PG_MIGRATION_INVALID',
      migration: '0401_b.sql',
    });
    expect(await recordedVersions('04')).toEqual([]);
  });
});
