import { readCardholderRecord } from '@afc/card-state';
import { cardholderRestrictionOf } from '@afc/domain';
import type { Logger } from '@afc/log';
import type { TransactionSql } from '@afc/postgres';
import type { TransitionDependencies } from './card-transition.ts';
import { parseUserTransition, type TransitionEvent } from './transition-event.ts';
import {
  lockPersonalSubject,
  type Program,
  type RecordedOutcome,
  recordNewest,
  type TransitionOutcome,
} from './transition-log.ts';

// The statuses users.marqeta_state holds. TERMINATED is stored as CLOSED: both are final at
// Marqeta and restrict the same way here.
const business_marqeta_states = new Set(['UNVERIFIED', 'LIMITED', 'ACTIVE', 'SUSPENDED', 'CLOSED']);

interface LockedUser {
  readonly program: Program;
  // Business: users.marqeta_state; personal: our status (Marqeta's is the only source of it).
  readonly state: string | null;
}

async function lockUser(
  tx: TransactionSql,
  deps: TransitionDependencies,
  event: TransitionEvent,
): Promise<LockedUser | undefined> {
  const [business] = await tx<{ marqeta_state: string | null }[]>`
    select marqeta_state from users where user_token = ${event.subject_token} for update`;
  if (business !== undefined) return { program: 'business', state: business.marqeta_state };
  await lockPersonalSubject(tx, event);
  const personal = await deps.sources.personal_store.getUser(event.subject_token);
  return personal === null ? undefined : { program: 'personal', state: personal.status };
}

function businessTarget(status: string): string | undefined {
  const stored = status === 'TERMINATED' ? 'CLOSED' : status;
  return business_marqeta_states.has(stored) ? stored : undefined;
}

function decide(user: LockedUser, event: TransitionEvent): RecordedOutcome {
  if (user.program === 'business') {
    const target = businessTarget(event.state);
    if (target === undefined) return 'ignored';
    return target === user.state ? 'unchanged' : 'applied';
  }
  // UNVERIFIED, LIMITED: nothing of ours to change.
  const target = cardholderRestrictionOf(event.state);
  if (target === undefined) return 'ignored';
  if (target === user.state) return 'unchanged';
  // The personal store never reopens a closed user.
  return user.state === 'closed' ? 'ignored' : 'applied';
}

async function applyUser(
  tx: TransactionSql,
  deps: TransitionDependencies,
  user: LockedUser,
  event: TransitionEvent,
): Promise<void> {
  if (user.program === 'business') {
    const target = businessTarget(event.state) ?? null;
    await tx`update users set marqeta_state = ${target}, version = version + 1
      where user_token = ${event.subject_token}`;
    return;
  }
  const status = cardholderRestrictionOf(event.state);
  if (status !== undefined) await deps.sources.personal_store.updateUser(event.subject_token, { status });
}

// A Marqeta user transition into the data of record (business: Marqeta's status beside ours;
// personal: the status), ordered and idempotent as card transitions are, then the cardholder
// written through to Redis.
export async function handleUserTransition(
  inTransaction: <T>(fn: (tx: TransactionSql) => Promise<T>) => Promise<T>,
  deps: TransitionDependencies,
  payload: unknown,
  logger: Logger,
): Promise<TransitionOutcome> {
  const event = parseUserTransition(payload);
  const outcome = await inTransaction((tx) =>
    recordNewest(tx, event, {
      lock: (locking) => lockUser(locking, deps, event),
      decide: (user) => decide(user, event),
      apply: (applying, user) => applyUser(applying, deps, user, event),
    }),
  );
  const context = { user_token: event.subject_token, status: event.state, outcome };
  if (outcome === 'unknown_subject') {
    // As for cards: we choose and record every user token before Marqeta knows it.
    logger.warn({ event: 'webhooks.user_transition.unknown_user', ...context }, 'unknown user: acknowledged');
    return outcome;
  }
  const cardholder = await readCardholderRecord(deps.sources, event.subject_token);
  if (cardholder !== undefined) await deps.card_state.writeCardholder(cardholder);
  logger.info({ event: 'webhooks.user_transition', ...context }, 'user transition');
  return outcome;
}
