import assert from 'node:assert/strict';
import type { Sql } from '@afc/postgres';
import { uuid_pattern } from '../schemas.ts';

// Outbox commands the publisher parked (refused max_refusals times, see OutboxPublisher), for an
// operator: list them, and requeue the ones whose cause is fixed (a missing binding, an
// exchange deployed late). A requeued command starts over as a first attempt, due at once.

export interface ParkedCommand {
  readonly message_id: string;
  readonly routing_key: string;
  readonly exchange: string;
  readonly card_token: string | null;
  readonly attempts: number;
  readonly last_error: string | null;
  readonly created_at: Date;
  readonly parked_at: Date;
}

export type RequeueSelection =
  | { readonly kind: 'ids'; readonly message_ids: readonly string[] }
  | { readonly kind: 'all' };

export interface RequeueOutcome {
  readonly requeued: readonly string[];
  // Asked for by id and not parked (unknown, published, or still being retried).
  readonly not_found: readonly string[];
}

// Either case: an operator may paste one in upper case.
export function isMessageId(text: string): boolean {
  return uuid_pattern.test(text.toLowerCase());
}

// Oldest parked first, at most `max`.
export async function listParkedCommands(sql: Sql, max: number): Promise<ParkedCommand[]> {
  assert.ok(Number.isSafeInteger(max) && max >= 1, 'max >= 1');
  return sql<ParkedCommand[]>`
    select message_id::text, routing_key, exchange, payload->>'card_token' as card_token, attempts,
           last_error, created_at, parked_at
    from outbox_messages where published_at is null and parked_at is not null
    order by parked_at, id limit ${max}`;
}

// One statement. The publisher never reads a parked row, so nothing else holds these rows but
// another requeue, whose rows are skipped, not waited for. `max` bounds 'all'; named ids are
// requeued all.
export async function requeueParkedCommands(
  sql: Sql,
  selection: RequeueSelection,
  max: number,
): Promise<RequeueOutcome> {
  assert.ok(Number.isSafeInteger(max) && max >= 1, 'max >= 1');
  const ids =
    selection.kind === 'ids' ? [...new Set(selection.message_ids.map((id) => id.toLowerCase()))] : [];
  assert.ok(ids.every(isMessageId), 'message ids are UUIDs');
  const limit = selection.kind === 'all' ? max : ids.length;
  const rows = await sql<{ message_id: string }[]>`
    update outbox_messages
    set parked_at = null, attempts = 0, refusals = 0, next_attempt_at = clock_timestamp()
    where id in (
      select id from outbox_messages
      where published_at is null and parked_at is not null
        and (${selection.kind === 'all'} or message_id = any(${ids}::uuid[]))
      order by parked_at, id limit ${limit}
      for update skip locked)
    returning message_id::text`;
  const requeued = rows.map((row) => row.message_id);
  const found = new Set(requeued);
  return { requeued, not_found: ids.filter((id) => !found.has(id)) };
}
