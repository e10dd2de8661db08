import type { TransactionSql } from './client.ts';

// One writer at a time for a card or user of the personal program, whose store shares no row
// lock with us: the webhooks consumer (applying Marqeta's transitions) and the api (writing its
// own) take this transaction-scoped advisory lock on the same key. Business subjects lock their
// row instead.
export async function lockMarqetaSubject(
  tx: TransactionSql,
  subject: 'card' | 'user',
  subject_token: string,
): Promise<void> {
  await tx`select pg_advisory_xact_lock(hashtextextended(${`marqeta_transitions:${subject}:${subject_token}`}, 0))`;
}
