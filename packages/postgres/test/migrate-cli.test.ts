import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { localServiceUrls, uniqueTestId } from '@afc/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgres, default_migrations_directory } from '../src/index.ts';
import { silentLogger } from './support.ts';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../src/migrate-cli.ts', import.meta.url));
const repository_root = fileURLToPath(new URL('../../../', import.meta.url));
// Made by the CLI itself, so not through createTestDatabase; dropped the same way.
const database_name = uniqueTestId('afc_test_cli_');
const admin = createPostgres(
  { url: localServiceUrls.postgres, application_name: 'afc-migrate-cli-test', max_connections: 1 },
  silentLogger(),
);

async function migrate(): Promise<Record<string, unknown>[]> {
  const url = new URL(localServiceUrls.postgres);
  url.pathname = `/${database_name}`;
  const { stdout } = await run(process.execPath, ['--conditions=@afc/source', cli], {
    cwd: repository_root,
    env: { ...process.env, DATABASE_URL: url.toString(), PG_CONNECT_ATTEMPTS: '2', LOG_LEVEL: 'info' },
    timeout: 60_000,
  });
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

afterAll(async () => {
  await admin.sql`drop database if exists ${admin.sql(database_name)} with (force)`;
  await admin.close(1);
});

describe('migrate CLI', () => {
  it('creates the missing database, applies every migration and logs it; a second run finds nothing to do', async () => {
    const files = (await readdir(default_migrations_directory))
      .filter((name) => name.endsWith('.sql'))
      .sort();
    const first = await migrate();
    expect(first.filter((line) => line.msg === 'database created')).toMatchObject([
      { database: database_name },
    ]);
    const applied = files.map((name) => name.replace(/\.sql$/, ''));
    expect(first.filter((line) => line.msg === 'migration applied').map((line) => line.migration)).toEqual(
      applied,
    );
    expect(first.find((line) => line.msg === 'migrations complete')).toMatchObject({
      database: database_name,
      applied,
    });

    const second = await migrate();
    expect(second.filter((line) => line.msg === 'database created')).toEqual([]);
    expect(second.find((line) => line.msg === 'migrations complete')).toMatchObject({ applied: [] });
  });
});
