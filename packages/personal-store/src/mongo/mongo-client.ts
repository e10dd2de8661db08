import { MongoClient } from 'mongodb';

export interface MongoClientFactoryOptions {
  readonly uri: string;
  readonly app_name: string;
  readonly min_pool_size?: number;
  readonly max_pool_size?: number;
  readonly server_selection_timeout_ms?: number;
  readonly socket_timeout_ms?: number;
  readonly connect_timeout_ms?: number;
  readonly max_idle_time_ms?: number;
}

// Every option we rely on is spelled out rather than left to the driver's defaults:
// - w 'majority' + journal: a credited deposit or applied hold survives a primary failover.
// - retryWrites / retryReads: one automatic retry of an operation across a failover; our
//   writes are idempotent by their ids, so a retried write cannot apply twice.
// - serverSelectionTimeoutMS bounds how long an operation waits for a usable server (5 s);
//   socketTimeoutMS (45 s) kills a connection stuck far past any sane operation.
// - readConcern majority + primary reads: we never act on data a failover could roll back.
export function createMongoClient(options: MongoClientFactoryOptions): MongoClient {
  return new MongoClient(options.uri, {
    appName: options.app_name,
    minPoolSize: options.min_pool_size ?? 2,
    maxPoolSize: options.max_pool_size ?? 10,
    serverSelectionTimeoutMS: options.server_selection_timeout_ms ?? 5_000,
    socketTimeoutMS: options.socket_timeout_ms ?? 45_000,
    connectTimeoutMS: options.connect_timeout_ms ?? 10_000,
    maxIdleTimeMS: options.max_idle_time_ms ?? 60_000,
    waitQueueTimeoutMS: options.server_selection_timeout_ms ?? 5_000,
    retryWrites: true,
    retryReads: true,
    writeConcern: { w: 'majority', journal: true },
    readConcern: { level: 'majority' },
    readPreference: 'primary',
    // Amounts are stored as numbers; a long read back must come back as a number (all our
    // values are safe integers, asserted on the way in and out).
    promoteLongs: true,
    ignoreUndefined: true,
  });
}
