import assert from 'node:assert/strict';
import type { Sql } from '@afc/postgres';

export interface PruneOptions {
  // Rows recorded at least this long ago may go; past Marqeta's webhook retries, a repeat of a
  // pruned event is older than the newest kept and is recorded as superseded, changing nothing.
  readonly keep_days: number;
  readonly batch: number;
}

// Deletes up to `batch` rows of marqeta_transitions recorded over keep_days ago that are not the
// newest of their subject (by the consumer's own order: created_time, state_rank, event_token).
// The newest row of every subject stays, so pruning never changes what a later arrival decides.
// Returns the rows deleted.
export async function pruneTransitionLog(sql: Sql, options: PruneOptions): Promise<number> {
  assert.ok(Number.isInteger(options.keep_days) && options.keep_days >= 1, 'keep_days >= 1');
  assert.ok(Number.isInteger(options.batch) && options.batch >= 1, 'batch >= 1');
  const deleted = await sql`
    delete from marqeta_transitions
    where event_token in (
      select m.event_token from marqeta_transitions m
      where m.recorded_at < now() - make_interval(days => ${options.keep_days}::int)
        and exists (
          select 1 from marqeta_transitions n
          where n.subject = m.subject and n.subject_token = m.subject_token
            and (n.created_time, n.state_rank, n.event_token collate "C")
              > (m.created_time, m.state_rank, m.event_token collate "C"))
      order by m.recorded_at
      limit ${options.batch})`;
  return deleted.count;
}
