import type { Logger } from '@afc/log';
import { type ClientSession, type MongoClient, MongoError, type TransactionOptions } from 'mongodb';
import { PersonalUnavailableError } from '../errors.ts';
import { type RetryOptions, withRetry } from '../retry.ts';

// Multi-document transactions need a replica set (or sharded cluster): production runs one
// (w 'majority' presumes it); a standalone mongod rejects them and these operations fail.

const transaction_options: TransactionOptions = {
  readConcern: { level: 'snapshot' },
  writeConcern: { w: 'majority', journal: true },
  readPreference: 'primary',
  maxCommitTimeMS: 5_000,
};

// Writers of one wallet conflict inside transactions (MongoDB aborts the later one at once
// with a WriteConflict instead of waiting): they retry with jittered backoff, boundedly.
export const transaction_retry: RetryOptions = { max_attempts: 20, base_delay_ms: 5, max_delay_ms: 500 };

const commit_attempts = 3;

export function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoError && error.code === 11000;
}

function isTransient(error: unknown): boolean {
  return (
    error instanceof MongoError &&
    (error.hasErrorLabel('TransientTransactionError') ||
      error.hasErrorLabel('UnknownTransactionCommitResult'))
  );
}

// The commit of a transaction whose outcome is unknown may be sent again (the server makes
// it idempotent). Past the bound the whole transaction runs again: every operation run here
// is idempotent by its id, so a repeat of one that did commit finds its record and changes nothing.
async function commit(session: ClientSession): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await session.commitTransaction();
      return;
    } catch (error) {
      const unknown = error instanceof MongoError && error.hasErrorLabel('UnknownTransactionCommitResult');
      if (!unknown || attempt >= commit_attempts) throw error;
    }
  }
}

export interface InTransactionOptions {
  readonly client: MongoClient;
  readonly logger: Logger;
  // Set where a duplicate key means "a concurrent repeat of the same id won": run again,
  // and the repeat finds the winner's record.
  readonly retry_on_duplicate_key: boolean;
}

export async function inTransaction<T>(
  options: InTransactionOptions,
  work: (session: ClientSession) => Promise<T>,
): Promise<T> {
  const retryable = (error: unknown) =>
    isTransient(error) || (options.retry_on_duplicate_key && isDuplicateKey(error));
  try {
    return await withRetry(() => attempt(options, work), retryable, transaction_retry);
  } catch (error) {
    if (!retryable(error)) throw error;
    throw new PersonalUnavailableError('MongoDB transaction kept conflicting past its retry bound', {
      cause: error,
    });
  }
}

async function attempt<T>(
  options: InTransactionOptions,
  work: (session: ClientSession) => Promise<T>,
): Promise<T> {
  const session = options.client.startSession();
  try {
    session.startTransaction(transaction_options);
    let result: T;
    try {
      result = await work(session);
    } catch (error) {
      // The server aborts an abandoned transaction on its own (transactionLifetimeLimitSeconds);
      // a failed abort only delays that, so it is logged and the original error wins.
      await session.abortTransaction().catch((abort_error: unknown) => {
        options.logger.warn({ err: abort_error }, 'personal store: abort of a failed transaction failed');
      });
      throw error;
    }
    await commit(session);
    return result;
  } finally {
    await session.endSession();
  }
}
