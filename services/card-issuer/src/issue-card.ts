import {
  type AmqpClient,
  exchange_names,
  type MessageContext,
  type MessageHandler,
  routing_keys,
} from '@afc/amqp';
import { type CardStateStore, type RecordSources, readCardRecord, writeCardRecord } from '@afc/card-state';
import type { MarqetaClient } from '@afc/marqeta';
import { CardIssued, type CardIssueFailed, CardIssueRequested } from '@afc/messages';
import { Value } from '@sinclair/typebox/value';
import type { CardRecords, IssuableCard } from './card-records.ts';
import {
  activateMarqetaCard,
  createMarqetaCard,
  ensureMarqetaUser,
  type PermanentFailure,
  permanentFailureOf,
} from './marqeta-issuance.ts';

export type IssueOutcome = 'issued' | 'republished' | 'failed' | 'retry' | 'invalid';

export interface IssueCardDependencies {
  readonly records: CardRecords;
  readonly sources: RecordSources;
  readonly card_state: CardStateStore;
  readonly marqeta: MarqetaClient;
  readonly amqp: AmqpClient;
  // Attempts the card-issuance queue allows: the last one marks the card failed before parking.
  readonly max_attempts: number;
  readonly publish_timeout_ms: number;
  readonly on_outcome?: (outcome: IssueOutcome) => void;
}

// A message that is not a CardIssueRequested. Thrown on every attempt, so the consumer parks it
// after its last one: nothing is written for a command we cannot trust.
export class InvalidCommandError extends Error {
  readonly code = 'AFC_CARD_ISSUER_INVALID_COMMAND';
}

// The card-issuance consumer. Idempotent: Marqeta creates carry our tokens, the data of record
// moves only from not-yet-active states, and an active card only has card.issued published again.
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
    throw new Error(`card ${command.card_token} is not in the ${command.program} records`);
  if (card.user_token !== command.user_token) {
    await markFailed(deps, card, {
      reason: `card ${card.card_token} belongs to another user than the command's`,
    });
    return 'failed';
  }
  if (card.active) {
    message.logger.info({ event: 'card_issuer.already_active', card_token: card.card_token }, 'republishing');
    await writeThrough(deps, card);
    await publishIssued(deps, card);
    return 'republished';
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
      await markFailed(deps, card, permanent);
      return 'failed';
    }
    if (message.attempt >= deps.max_attempts) {
      const reason = `retries exhausted: ${error instanceof Error ? error.message : String(error)}`;
      await markFailed(deps, card, { reason: reason.slice(0, 500), ...marqetaCodeOf(error) });
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
  const record = await readCardRecord(deps.sources, card.card_token, Date.now());
  if (record === undefined) throw new Error(`card ${card.card_token} vanished before its write-through`);
  await writeCardRecord(deps.card_state, record);
}

async function publishIssued(deps: IssueCardDependencies, card: IssuableCard): Promise<void> {
  if (card.issued === undefined) throw new Error(`card ${card.card_token} is active without its details`);
  const event_id = `${card.card_token}:issued`;
  // Built from the data of record only, so every publish of one card carries the same payload.
  const event: CardIssued = {
    event_id,
    program: card.program,
    card_token: card.card_token,
    user_token: card.user_token,
    last_four: card.issued.last_four,
    expiration_month: card.issued.expiration_month,
    expiration_year: card.issued.expiration_year,
    issued_at: card.issued.issued_at.toISOString(),
  };
  if (!Value.Check(CardIssued, event))
    throw new Error(`card.issued for ${card.card_token} breaks its schema`);
  await deps.amqp.publish(exchange_names.events, routing_keys.card_issued, event, {
    message_id: event_id,
    confirm_timeout_ms: deps.publish_timeout_ms,
  });
}

async function markFailed(deps: IssueCardDependencies, card: IssuableCard, failure: PermanentFailure) {
  await deps.records.fail(card, failure.reason);
  const event_id = `${card.card_token}:failed`;
  const event: CardIssueFailed = {
    event_id,
    program: card.program,
    card_token: card.card_token,
    user_token: card.user_token,
    reason: failure.reason,
    ...(failure.marqeta_error_code === undefined ? {} : { marqeta_error_code: failure.marqeta_error_code }),
    failed_at: new Date().toISOString(),
  };
  await deps.amqp.publish(exchange_names.events, routing_keys.card_issue_failed, event, {
    message_id: event_id,
    confirm_timeout_ms: deps.publish_timeout_ms,
  });
}
