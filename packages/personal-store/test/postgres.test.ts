import { createLogger } from '@afc/log';
import { createPostgres, type PostgresClient, runMigrations, type Sql } from '@afc/postgres';
import { createTestDatabase, type TestDatabase } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPersonalStore, PostgresPersonalStore } from '../src/index.ts';
import { newUser, unissued } from './contract/helpers.ts';
import { personalStoreContract } from './contract/index.ts';

// PostgreSQL is always on this machine and in CI: the contract always runs here.
const logger = createLogger({ name: 'personal-store-test', level: 'silent' });
let database: TestDatabase;
let client: PostgresClient;
let sql: Sql;

beforeAll(async () => {
  database = await createTestDatabase();
  // The project's pool, as services build it (int8 as numbers, timeouts set server-side).
  client = createPostgres(
    { url: database.url, application_name: 'personal-store-test', max_connections: 10 },
    logger,
  );
  sql = client.sql;
  await runMigrations({ sql, logger });
  process.stdout.write(`personal-store contract: postgres RUNS (database ${database.name})\n`);
});

afterAll(async () => {
  await client?.close(5_000);
  await database?.drop();
});

personalStoreContract('postgres', (options) =>
  createPersonalStore({ sql, mongodb_db: 'unused', logger, ...(options.now ? { now: options.now } : {}) }),
);

describe('PostgreSQL personal schema', () => {
  it('is what createPersonalStore picks when no MongoDB URI is set', async () => {
    for (const mongodb_uri of [undefined, '']) {
      const store = await createPersonalStore({ sql, mongodb_uri, mongodb_db: 'unused', logger });
      expect(store.backend).toBe('postgres');
      expect((await store.ping(2_000)).ok).toBe(true);
      await store.close();
    }
  });

  it('refuses a negative balance even from a write that skips the store', async () => {
    const store = await createPersonalStore({ sql, mongodb_db: 'unused', logger });
    const user = await newUser(store, 100);
    await expect(
      sql`update personal.wallets set available_minor = available_minor - 101 where user_token = ${user.user_token}`,
    ).rejects.toMatchObject({ code: '23514' });
    await expect(
      sql`update personal.wallets set held_minor = -1 where user_token = ${user.user_token}`,
    ).rejects.toMatchObject({ code: '23514' });
    expect(await store.getWallet(user.user_token)).toMatchObject({ available_minor: 100, held_minor: 0 });
    await store.close();
  });

  it('creates a card with what the caller writes beside it, in one transaction: both commit or neither', async () => {
    const store = new PostgresPersonalStore({ sql, logger });
    expect(store.card_commits_with_postgres).toBe(true);
    const user = await newUser(store);
    const input = (card_token: string) => unissued(user.user_token, card_token);
    await sql`create table if not exists card_sidecar (card_token text primary key)`;
    const rolled_back = `${user.user_token}-rb`;
    await expect(
      store.createCardWith(input(rolled_back), async (tx) => {
        if (tx === undefined) throw new Error('the PostgreSQL twin passes its transaction');
        await tx`insert into card_sidecar values (${rolled_back})`;
        throw new Error('what the caller wrote beside it failed');
      }),
    ).rejects.toThrow('beside it failed');
    expect(await store.getCard(rolled_back)).toBeNull();
    expect(await sql`select 1 from card_sidecar where card_token = ${rolled_back}`).toHaveLength(0);
    const committed = `${user.user_token}-ok`;
    const created = await store.createCardWith(input(committed), async (tx) => {
      if (tx === undefined) throw new Error('the PostgreSQL twin passes its transaction');
      await tx`insert into card_sidecar values (${committed})`;
    });
    expect(await store.getCard(committed)).toEqual(created);
    expect(await sql`select 1 from card_sidecar where card_token = ${committed}`).toHaveLength(1);
    await store.close();
  });

  it('finds expired open holds and pages open holds through indexes, not a scan of the ledger', async () => {
    const plans = await sql.begin(async (tx) => {
      await tx`set local enable_seqscan = off`;
      const expired = await tx`explain select jit_token from personal.transactions
        where state in ('pending', 'partially_cleared') and expires_at <= ${new Date()}
        order by expires_at, jit_token limit 100`;
      const open = await tx`explain select jit_token from personal.transactions
        where state in ('pending', 'partially_cleared') and jit_token > ${''}
        order by jit_token limit 100`;
      return { expired: JSON.stringify(expired), open: JSON.stringify(open) };
    });
    expect(plans.expired).toContain('personal_transactions_open_expiry_idx');
    expect(plans.expired).not.toContain('Sort');
    expect(plans.open).toContain('personal_transactions_open_token_idx');
  });
});
