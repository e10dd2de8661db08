export { createPersonalStore, type PersonalStoreConfig } from './create-personal-store.ts';
export {
  PersonalClosedError,
  PersonalConflictError,
  type PersonalErrorCode,
  PersonalInvalidInputError,
  PersonalNotFoundError,
  PersonalStoreError,
  PersonalUnavailableError,
  personal_error_codes,
} from './errors.ts';
export { collection_names, ensureIndexes, personal_indexes } from './mongo/collections.ts';
export { createMongoClient, type MongoClientFactoryOptions } from './mongo/mongo-client.ts';
export { MongoPersonalStore, type MongoPersonalStoreOptions } from './mongo/mongo-personal-store.ts';
export {
  PostgresPersonalStore,
  type PostgresPersonalStoreOptions,
} from './postgres/postgres-personal-store.ts';
export * from './types.ts';
export { unissuedCard } from './unissued-card.ts';
export { max_page_limit, max_scan_limit } from './validate.ts';
