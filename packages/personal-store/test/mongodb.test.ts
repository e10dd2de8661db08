import { createLogger } from '@afc/log';
import { createPostgres } from '@afc/postgres';
import { localServiceUrls, uniqueTestId } from '@afc/testkit';
import type { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collection_names, createMongoClient, createPersonalStore, personal_indexes } from '../src/index.ts';
import { newUser, unissued } from './contract/helpers.ts';
import { personalStoreContract } from './contract/index.ts';

// No MongoDB server exists on the machines this team works on (see shared/design.md): the
// contract runs against MongoDB only where TEST_MONGODB_URI names one (a replica set: the
// store's deposits and ledger events use multi-document transactions). Otherwise it says,
// loudly, that it did not run and why.
const mongodb_uri = localServiceUrls.mongodb;
const logger = createLogger({ name: 'personal-store-test', level: 'silent' });
const db_name = uniqueTestId('afc_personal_');
// Never queried: the MongoDB store does not use PostgreSQL (postgres.js connects lazily).
const unused_pg = createPostgres(
  {
    url: 'postgres://unused@127.0.0.1:1/unused',
    application_name: 'personal-store-test',
    max_connections: 1,
  },
  logger,
);
const unused_sql = unused_pg.sql;

afterAll(async () => {
  await unused_pg.close(1_000);
});

if (mongodb_uri === undefined) {
  process.stdout.write(
    'personal-store contract: mongodb DID NOT RUN (TEST_MONGODB_URI is not set; no MongoDB server on this machine)\n',
  );
} else {
  process.stdout.write(`personal-store contract: mongodb RUNS (database ${db_name})\n`);
}

describe.runIf(mongodb_uri !== undefined)('MongoDB backend', () => {
  const uri = mongodb_uri as string;
  let admin: MongoClient;

  beforeAll(async () => {
    admin = createMongoClient({
      uri,
      app_name: 'afc-personal-store-test',
      min_pool_size: 0,
      max_pool_size: 2,
    });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.db(db_name).dropDatabase();
    await admin?.close();
  });

  personalStoreContract('mongodb', (options) =>
    createPersonalStore({
      mongodb_uri: uri,
      mongodb_db: db_name,
      sql: unused_sql,
      logger,
      ...(options.now ? { now: options.now } : {}),
    }),
  );

  it('creates every unique index and the wallet validator', async () => {
    const store = await createPersonalStore({
      mongodb_uri: uri,
      mongodb_db: db_name,
      sql: unused_sql,
      logger,
    });
    expect(store.backend).toBe('mongodb');
    const db = admin.db(db_name);
    for (const [key, specs] of Object.entries(personal_indexes)) {
      const name = collection_names[key as keyof typeof collection_names];
      const existing = await db.collection(name).listIndexes().toArray();
      for (const spec of specs) {
        const found = existing.find((index) => index.name === spec.name);
        expect(found, `${name}.${spec.name}`).toBeDefined();
        expect(Boolean(found?.unique), `${name}.${spec.name} unique`).toBe(Boolean(spec.unique));
      }
    }
    const user = await newUser(store, 100);
    await expect(
      db
        .collection(collection_names.wallets)
        .updateOne({ user_token: user.user_token }, { $inc: { held_minor: -1 } }),
    ).rejects.toMatchObject({ code: 121 });
    expect(await store.getWallet(user.user_token)).toMatchObject({ available_minor: 100, held_minor: 0 });
    await store.close();
  });

  it('creates a card, then runs what the caller writes beside it on its own (no shared transaction)', async () => {
    const store = await createPersonalStore({
      mongodb_uri: uri,
      mongodb_db: db_name,
      sql: unused_sql,
      logger,
    });
    expect(store.card_commits_with_postgres).toBe(false);
    const user = await newUser(store, 0);
    const card_token = `${user.user_token}-with`;
    const given: unknown[] = [];
    await expect(
      store.createCardWith(unissued(user.user_token, card_token), async (tx) => {
        given.push(tx);
        throw new Error('what the caller wrote beside it failed');
      }),
    ).rejects.toThrow('beside it failed');
    expect(given).toEqual([undefined]);
    // Written first, and kept: the caller mends what its own write left undone.
    expect(await store.getCard(card_token)).toMatchObject({ state: 'unactivated' });
    await store.close();
  });
});

describe('createPersonalStore with a MongoDB URI', () => {
  it('chooses MongoDB and fails fast, with a coded error, when it is unreachable', async () => {
    await expect(
      createPersonalStore({
        mongodb_uri: 'mongodb://127.0.0.1:9/?directConnection=true',
        mongodb_db: 'unreachable',
        sql: unused_sql,
        logger,
        mongodb_server_selection_timeout_ms: 300,
      }),
    ).rejects.toMatchObject({ code: 'AFC_PERSONAL_UNAVAILABLE' });
  });
});
