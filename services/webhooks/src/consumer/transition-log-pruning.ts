import assert from 'node:assert/strict';
import type { Sql } from '@afc/postgres';

export interface PruneOptions {
  // Days a row is kept once superseded; past Marqeta's webhook retries, a repeat of a pruned
  // event is older than the newest kept and is recorded as superseded, changing nothing.
  readonly keep_days: number;
  readonly batch: number;
}

// Deletes up to `batch` rows of marqeta_transitions superseded over keep_days ago, oldest first.
// The newest row of a subject is never superseded (recordNewest stamps the others under the
// subject's lock), so pruning never changes what a later arrival decides. Only superseded rows
// are scanned (a partial index). Returns the rows deleted.
export async function pruneTransitionLog(sql: Sql, options: PruneOptions): Promise<number> {
  assert.ok(Number.isInteger(options.keep_days) && options.keep_days >= 1, 'keep_days >= 1');
  assert.ok(Number.isInteger(options.batch) && options.batch >= 1, 'batch >= 1');
  const deleted = await sql`
    delete from marqeta_transitions
    where event_token in (
      select event_token from marqeta_transitions
      where superseded_at < now() - make_interval(days => ${options.keep_days}::int)
      order by superseded_at
      limit ${options.batch})`;
  return deleted.count;
}
