import {
  type AmqpClient,
  exchange_names,
  type MessageContext,
  type MessageHandler,
  routing_keys,
} from '@afc/amqp';
import { type CardStateStore, type RecordSources, refreshCardRecord } from '@afc/card-state';
import type { MarqetaClient } from '@afc/marqeta';
import { CardIssued, CardIssueFailed, CardIssueRequested } from '@afc/messages';
import { Value } from '@sinclair/typebox/value';
import type { CardRecords, IssuableCard } from './card-records.ts';
import {
  activateMarqetaCard,
  createMarqetaCard,
  ensureMarqetaUser,
  type PermanentFailure,
  permanentFailureOf,
} from './marqeta-issuance.ts';

export type IssueOutcome = 'issued' | 'already_issued' | 'failed' | 'retry' | 'invalid';

export interface IssueCardDependencies {
  readonly records: CardRecords;
  readonly sources: RecordSources;
  readonly card_state: CardStateStore;
  readonly marqeta: MarqetaClient;
  readonly amqp: Pick<AmqpClient, 'publish'>;
  // Bounds the wait for the broker's confirm of card.issued / card.issue.failed.
  readonly publish_timeout_ms: number;
  // Attempts the card-issuance queue allows: the last one marks the card failed before parking.
  readonly max_attempts: number;
  readonly on_outcome?: (outcome: IssueOutcome) => void;
}

// A message that is not a CardIssueRequested, or names another owner than the card's. Thrown on every attempt, so the consumer parks it
// after its last one: nothing is written for a command we cannot trust.
export class InvalidCommandError extends Error {
  readonly code = 'AFC_CARD_ISSUER_INVALID_COMMAND';
}

// The data of record contradicts itself: an issued card without Marqeta's details, or a card
// gone between its issuance and its write-through. Thrown on every attempt, so the command is
// retried (a lag heals) and then parked for a person, never acknowledged unannounced.
export class CardRecordError extends Error {
  readonly code = 'AFC_CARD_ISSUER_CARD_RECORD';
}

// The card-issuance consumer. Idempotent: Marqeta creates carry our tokens, the data of record
// moves only from not-yet-issued states, and an issued card is only written through again.
// The outcome is written first (data of record, then Redis), then announced (card.issued /
// card.issue.failed, confirmed) before the command is acked: a crash between the write and the
// confirm redelivers the command, which finds the outcome recorded and announces it again under
// the same message_id (the api's history keeps one entry per id).
export function createIssueCardHandler(deps: IssueCardDependencies): MessageHandler {
  return async (message) => {
    const outcome = await issueCard(deps, message).catch((error: unknown) => {
      deps.on_outcome?.(error instanceof InvalidCommandError ? 'invalid' : 'retry');
      throw error;
    });
    deps.on_outcome?.(outcome);
  };
}

async function issueCard(deps: IssueCardDependencies, message: MessageContext): Promise<IssueOutcome> {
  message.logger.info({ event: 'card_issuer.attempt', attempt: message.attempt }, 'issuing');
  const command = message.payload;
  if (!Value.Check(CardIssueRequested, command)) {
    const first = Value.Errors(CardIssueRequested, command).First();
    throw new InvalidCommandError(`not a CardIssueRequested: ${first?.path ?? ''} ${first?.message ?? ''}`);
  }
  const card = await deps.records.load(command.program, command.card_token);
  // Not (yet) in the data of record: the control plane records before it publishes, so this is
  // a lag or a bug; retried, then parked for a person to look at.
  if (card === undefined)
    throw new CardRecordError(`card ${command.card_token} is not in the ${command.program} records`);
  // A command naming another owner than the card's is one we cannot trust: refused like a
  // malformed one (parked), and the card, which is fine, is left as it is.
  if (card.user_token !== command.user_token)
    throw new InvalidCommandError(`card ${card.card_token} belongs to another user than the command's`);
  if (card.issued) {
    // A duplicate, or a retry after a crash between the data of record and Redis or the
    // announcement: heal Redis, announce again (same message_id).
    await writeThrough(deps, card);
    await publishIssued(deps, card);
    message.logger.info(
      { event: 'card_issuer.already_issued', card_token: card.card_token },
      'already issued: written through again',
    );
    return 'already_issued';
  }
  try {
    await ensureMarqetaUser(deps.marqeta, card);
    const issued = await createMarqetaCard(deps.marqeta, card, command.card_product_token);
    await activateMarqetaCard(deps.marqeta, card.card_token, issued.state);
    const active = await deps.records.activate(card, issued);
    await writeThrough(deps, active);
    await publishIssued(deps, active);
    message.logger.info({ event: 'card_issuer.issued', card_token: card.card_token }, 'card issued');
    return 'issued';
  } catch (error) {
    const permanent = permanentFailureOf(error);
    if (permanent !== undefined) {
      message.logger.warn(
        { event: 'card_issuer.rejected', card_token: card.card_token, err: error },
        'failed',
      );
      await markFailed(deps, message, card, permanent, command.command_id);
      return 'failed';
    }
    if (message.attempt >= deps.max_attempts) {
      const reason = `retries exhausted: ${error instanceof Error ? error.message : String(error)}`;
      await markFailed(
        deps,
        message,
        card,
        { reason: reason.slice(0, 500), ...marqetaCodeOf(error) },
        command.command_id,
      );
    }
    throw error;
  }
}

function marqetaCodeOf(error: unknown): { marqeta_error_code?: string } {
  const code = (error as { error_code?: unknown } | null)?.error_code;
  return typeof code === 'string' ? { marqeta_error_code: code.slice(0, 20) } : {};
}

// The card, its controls and its cardholder as the data of record now has them, so the
// authorizer decides on the issued card without a load.
async function writeThrough(deps: IssueCardDependencies, card: IssuableCard): Promise<void> {
  const written = await refreshCardRecord(deps.sources, deps.card_state, card.card_token, Date.now());
  if (!written) throw new CardRecordError(`card ${card.card_token} vanished before its write-through`);
}

// Built from the data of record only, so every announcement of one card carries the same
// message_id. A card past issuance without Marqeta's details (an issued card has them: the
// schema requires them of active and suspended cards) is not announced wrong, nor acknowledged
// unannounced: the command fails, and is parked after its last attempt.
async function publishIssued(deps: IssueCardDependencies, card: IssuableCard) {
  const details = card.details;
  if (details === undefined)
    throw new CardRecordError(`card ${card.card_token} is issued without its details`);
  const event_id = `${card.card_token}:issued`;
  const event: CardIssued = {
    event_id,
    program: card.program,
    card_token: card.card_token,
    user_token: card.user_token,
    last_four: details.last_four,
    expiration_month: details.expiration_month,
    expiration_year: details.expiration_year,
    issued_at: details.issued_at.toISOString(),
  };
  if (!Value.Check(CardIssued, event)) throw new Error(`card.issued of ${card.card_token} breaks its schema`);
  await deps.amqp.publish(exchange_names.events, routing_keys.card_issued, event, {
    message_id: event_id,
    type: routing_keys.card_issued,
    confirm_timeout_ms: deps.publish_timeout_ms,
  });
}

// Recorded first, then announced; nothing is announced when the card was not marked (it is
// issued already: a late failure of a duplicate is no failure of the card).
async function markFailed(
  deps: IssueCardDependencies,
  message: MessageContext,
  card: IssuableCard,
  failure: PermanentFailure,
  command_id: string,
): Promise<void> {
  const marked = await deps.records.fail(card, failure.reason);
  message.logger.warn(
    {
      event: 'card_issuer.failed',
      card_token: card.card_token,
      marked,
      reason: failure.reason,
      ...(failure.marqeta_error_code === undefined ? {} : { marqeta_error_code: failure.marqeta_error_code }),
    },
    'card issuance failed',
  );
  if (!marked) return;
  const event_id = `${card.card_token}:issue_failed:${command_id}`;
  const event: CardIssueFailed = {
    event_id,
    program: card.program,
    card_token: card.card_token,
    user_token: card.user_token,
    command_id,
    reason: failure.reason,
    ...(failure.marqeta_error_code ? { marqeta_error_code: failure.marqeta_error_code } : {}),
    attempts: message.attempt,
    failed_at: new Date().toISOString(),
  };
  if (!Value.Check(CardIssueFailed, event))
    throw new Error(`card.issue.failed of ${card.card_token} breaks its schema`);
  await deps.amqp.publish(exchange_names.events, routing_keys.card_issue_failed, event, {
    message_id: event_id,
    type: routing_keys.card_issue_failed,
    confirm_timeout_ms: deps.publish_timeout_ms,
  });
}
