import { type CardStateStore, type RecordSources, refreshCardRecord } from '@afc/card-state';
import { cardTransitionCheck, isCardTransitionState, local_card_state_of } from '@afc/domain';
import type { Logger } from '@afc/log';
import type { TransactionSql } from '@afc/postgres';
import { WebhooksError, webhooks_error_codes } from './errors.ts';
import { parseCardTransition, type TransitionEvent } from './transition-event.ts';
import {
  lockPersonalSubject,
  type Program,
  type RecordedOutcome,
  recordNewest,
  type TransitionOutcome,
} from './transition-log.ts';

export interface TransitionDependencies {
  readonly sources: RecordSources;
  readonly card_state: CardStateStore;
}

export type { TransitionOutcome };

interface LockedCard {
  readonly program: Program;
  readonly state: string;
}

// The business card's row locked, or the personal card under its advisory lock; undefined when
// neither program knows the card.
async function lockCard(
  tx: TransactionSql,
  deps: TransitionDependencies,
  event: TransitionEvent,
): Promise<LockedCard | undefined> {
  const [business] = await tx<{ state: string }[]>`
    select state from cards where card_token = ${event.subject_token} for update`;
  if (business !== undefined) return { program: 'business', state: business.state };
  await lockPersonalSubject(tx, event);
  const personal = await deps.sources.personal_store.getCard(event.subject_token);
  return personal === null ? undefined : { program: 'personal', state: personal.state };
}

// What the newest transition of a card does to it, by the control plane's own rules.
function decide(local_state: string, event: TransitionEvent): RecordedOutcome {
  // UNACTIVATED (fulfillment), LIMITED, UNSUPPORTED: no state of ours to follow.
  if (!isCardTransitionState(event.state)) return 'ignored';
  const check = cardTransitionCheck(local_state, event.state);
  if (check === 'move') return 'applied';
  if (check === 'same') return 'unchanged';
  // Terminated is final here as at Marqeta: nothing moves it.
  if (local_state === 'terminated') return 'ignored';
  // Not issued here yet. Activation carries the card's details, which the card issuer records.
  if (event.state === 'ACTIVE') return 'left_to_issuer';
  throw new WebhooksError(
    webhooks_error_codes.card_not_issued,
    `card ${event.subject_token} is ${local_state} here; Marqeta made it ${event.state}`,
  );
}

async function applyCard(
  tx: TransactionSql,
  deps: TransitionDependencies,
  card: LockedCard,
  event: TransitionEvent,
): Promise<void> {
  if (!isCardTransitionState(event.state)) return;
  const state = local_card_state_of[event.state];
  if (card.program === 'business') {
    // version: Redis keeps the higher one, so this write-through cannot be overtaken by an older.
    await tx`update cards set state = ${state}, version = version + 1 where card_token = ${event.subject_token}`;
    return;
  }
  // Inside the transaction holding the advisory lock: the next transition of this card waits.
  await deps.sources.personal_store.setCardState(event.subject_token, state);
}

// A Marqeta card transition into the data of record (idempotent by event token, and the newest
// transition of the card wins whatever the arrival order), then written through to Redis.
export async function handleCardTransition(
  inTransaction: <T>(fn: (tx: TransactionSql) => Promise<T>) => Promise<T>,
  deps: TransitionDependencies,
  payload: unknown,
  logger: Logger,
): Promise<TransitionOutcome> {
  const event = parseCardTransition(payload);
  const outcome = await inTransaction((tx) =>
    recordNewest(tx, event, {
      lock: (locking) => lockCard(locking, deps, event),
      decide: (card) => decide(card.state, event),
      apply: (applying, card) => applyCard(applying, deps, card, event),
      // 'unchanged': the card is in the state the transition names; writing it again moves the
      // card's version (business) or updated_at (personal), as TransitionSteps.touch asks.
      touch: (touching, card) => applyCard(touching, deps, card, event),
    }),
  );
  const context = { card_token: event.subject_token, state: event.state, outcome };
  if (outcome === 'unknown_subject') {
    // We choose every card token and record the card before Marqeta creates it: a token we do
    // not know is not ours (another program on the account), and no retry would make it known.
    logger.warn({ event: 'webhooks.card_transition.unknown_card', ...context }, 'unknown card: acknowledged');
    return outcome;
  }
  // Also after a duplicate: a retry heals a write-through an earlier attempt did not finish. A
  // card gone since it was recorded leaves nothing to write (no retry would bring it back).
  await refreshCardRecord(deps.sources, deps.card_state, event.subject_token, Date.now());
  logger.info({ event: 'webhooks.card_transition', ...context }, 'card transition');
  return outcome;
}
