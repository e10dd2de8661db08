import { type Logger, redactUrl } from '@afc/log';
import type { Sql } from '@afc/postgres';
import { PersonalUnavailableError } from './errors.ts';
import { ensureIndexes } from './mongo/collections.ts';
import { createMongoClient } from './mongo/mongo-client.ts';
import { MongoPersonalStore } from './mongo/mongo-personal-store.ts';
import { PostgresPersonalStore } from './postgres/postgres-personal-store.ts';
import type { PersonalStore } from './types.ts';

export interface PersonalStoreConfig {
  // Set: MongoDB (the production choice). Unset: PostgreSQL's `personal` schema.
  readonly mongodb_uri?: string | undefined;
  readonly mongodb_db: string;
  // Used by the PostgreSQL store (and never ended by it); its migrations must have run.
  readonly sql: Sql;
  readonly logger: Logger;
  readonly app_name?: string;
  readonly mongodb_server_selection_timeout_ms?: number;
  // Injected in tests to control creation times; the wall clock otherwise.
  readonly now?: () => Date;
}

export async function createPersonalStore(config: PersonalStoreConfig): Promise<PersonalStore> {
  const now = config.now ?? (() => new Date());
  if (config.mongodb_uri === undefined || config.mongodb_uri === '') {
    config.logger.info({ backend: 'postgres' }, 'personal store: PostgreSQL (no MongoDB URI configured)');
    return new PostgresPersonalStore({ sql: config.sql, logger: config.logger, now });
  }
  const client = createMongoClient({
    uri: config.mongodb_uri,
    app_name: config.app_name ?? 'afc-personal-store',
    ...(config.mongodb_server_selection_timeout_ms === undefined
      ? {}
      : { server_selection_timeout_ms: config.mongodb_server_selection_timeout_ms }),
  });
  try {
    // Bounded by serverSelectionTimeoutMS: an unreachable MongoDB fails the start, fast.
    await client.connect();
    await ensureIndexes(client.db(config.mongodb_db));
  } catch (error) {
    await client.close();
    throw new PersonalUnavailableError(`MongoDB at ${redactUrl(config.mongodb_uri)} is not usable`, {
      cause: error,
    });
  }
  config.logger.info({ backend: 'mongodb', db: config.mongodb_db }, 'personal store: MongoDB');
  return new MongoPersonalStore({
    client,
    db_name: config.mongodb_db,
    logger: config.logger,
    owns_client: true,
    now,
  });
}
