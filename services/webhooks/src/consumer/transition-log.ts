import type { TransactionSql } from '@afc/postgres';
import { isNewer, type TransitionEvent } from './transition-event.ts';

export type Program = 'business' | 'personal';

// What the consumer did with a transition when it arrived (marqeta_transitions.outcome).
export type RecordedOutcome = 'applied' | 'unchanged' | 'superseded' | 'ignored' | 'left_to_issuer';
export type TransitionOutcome = RecordedOutcome | 'duplicate' | 'unknown_subject';

interface NewestRow {
  event_token: string;
  created_time: Date;
  state_rank: number;
}

// Serialises transitions of one personal card or user across consumers (business subjects lock
// their row instead): a decision and its write happen with no other in between. (The api fences
// its own writes with the store's compare-and-set on updated_at.)
export async function lockPersonalSubject(tx: TransactionSql, event: TransitionEvent): Promise<void> {
  await tx`select pg_advisory_xact_lock(hashtextextended(${`marqeta_transitions:${event.subject}:${event.subject_token}`}, 0))`;
}

async function isRecorded(tx: TransactionSql, event_token: string): Promise<boolean> {
  const rows = await tx`select 1 from marqeta_transitions where event_token = ${event_token}`;
  return rows.length > 0;
}

async function newestTransition(tx: TransactionSql, event: TransitionEvent): Promise<NewestRow | undefined> {
  const [row] = await tx<NewestRow[]>`
    select event_token, created_time, state_rank from marqeta_transitions
    where subject = ${event.subject} and subject_token = ${event.subject_token}
    order by created_time desc, state_rank desc, event_token collate "C" desc
    limit 1`;
  return row;
}

async function recordTransition(
  tx: TransactionSql,
  event: TransitionEvent,
  program: Program,
  outcome: RecordedOutcome,
): Promise<void> {
  // The newest row of a subject is the one without superseded_at (see migration 0011): a late
  // arrival is superseded from the start; a newer one supersedes the row that was newest.
  const superseded = outcome === 'superseded';
  if (!superseded) {
    await tx`update marqeta_transitions set superseded_at = now()
      where subject = ${event.subject} and subject_token = ${event.subject_token} and superseded_at is null`;
  }
  await tx`
    insert into marqeta_transitions
      (event_token, subject, subject_token, program, state, state_rank, created_time, outcome, superseded_at)
    values (${event.event_token}, ${event.subject}, ${event.subject_token}, ${program}, ${event.state},
            ${event.state_rank}, ${event.created_time}, ${outcome}, ${superseded ? new Date() : null})`;
}

// What differs between a card's and a user's transition; the order of the steps does not.
export interface TransitionSteps<S extends { readonly program: Program }> {
  // The subject locked (its row, or the personal advisory lock); undefined when no program knows it.
  lock(tx: TransactionSql): Promise<S | undefined>;
  decide(subject: S): RecordedOutcome;
  apply(tx: TransactionSql, subject: S): Promise<void>;
  // A newer transition that leaves the subject as it is ('unchanged') still moves its version,
  // where a writer fences on it (the api's card transitions, which compare the version they
  // read before calling Marqeta with the one they write over).
  touch?(tx: TransactionSql, subject: S): Promise<void>;
}

// One transition into the data of record, inside the caller's transaction. The lock comes first:
// the duplicate check, the newest-wins check and the write then see no concurrent transition of
// the subject, so a redelivery is a 'duplicate' and an older arrival is 'superseded'.
export async function recordNewest<S extends { readonly program: Program }>(
  tx: TransactionSql,
  event: TransitionEvent,
  steps: TransitionSteps<S>,
): Promise<TransitionOutcome> {
  const subject = await steps.lock(tx);
  if (subject === undefined) return 'unknown_subject';
  if (await isRecorded(tx, event.event_token)) return 'duplicate';
  const newest = await newestTransition(tx, event);
  const decided = newest !== undefined && !isNewer(event, newest) ? 'superseded' : steps.decide(subject);
  await recordTransition(tx, event, subject.program, decided);
  if (decided === 'applied') await steps.apply(tx, subject);
  if (decided === 'unchanged') await steps.touch?.(tx, subject);
  return decided;
}
