import type { MessageHandler } from '@afc/amqp';
import { CardIssued, CardIssueFailed } from '@afc/messages';
import type { Sql, TransactionSql } from '@afc/postgres';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

// A card's lifecycle history (table card_lifecycle_events): operational history for people and
// integrators, not the data of record. The card's state, details and failure reason stay in
// `cards` and the personal store, which is what every decision reads; a row missing here never
// changes a card.

export type LifecycleType =
  | 'card.issued'
  | 'card.issue.failed'
  | 'card.suspended'
  | 'card.reactivated'
  | 'card.terminated';

export interface LifecycleEntry {
  // Deterministic: a redelivered event or a retried write finds its row and adds nothing.
  readonly event_id: string;
  readonly program: 'business' | 'personal';
  readonly card_token: string;
  readonly user_token: string;
  readonly type: LifecycleType;
  readonly reason: string | null;
  readonly details: Readonly<Record<string, string | number>>;
  // ISO 8601 from the event, or undefined for "now" (the api's own transitions).
  readonly occurred_at?: string;
}

// True when the row is new, false for a duplicate. Takes a transaction so a transition's entry
// commits with the card's own update.
export async function recordLifecycleEvent(
  sql: Sql | TransactionSql,
  entry: LifecycleEntry,
): Promise<boolean> {
  const rows = await sql`
    insert into card_lifecycle_events
      (event_id, program, card_token, user_token, type, reason, details, occurred_at)
    values (${entry.event_id}, ${entry.program}, ${entry.card_token}, ${entry.user_token}, ${entry.type},
            ${entry.reason}, ${sql.json(entry.details)},
            ${entry.occurred_at === undefined ? sql`now()` : sql`${entry.occurred_at}::timestamptz`})
    on conflict (event_id) do nothing
    returning id`;
  return rows.length > 0;
}

// The api's own transitions, by the target state Marqeta was asked for.
export const transition_type_of = {
  SUSPENDED: 'card.suspended',
  ACTIVE: 'card.reactivated',
  TERMINATED: 'card.terminated',
} as const satisfies Record<string, LifecycleType>;

// One id per transition: the version (business) or updated_at (personal) it started from and
// its target are unique per change of the card, and the same for a retry of the same change.
// (The target too: two requests can start from one version if a lock lease ran out.)
export function transitionEventId(card_token: string, from_version: number, target: string): string {
  return `${card_token}:transition:${from_version}:${target}`;
}

// Thrown on every attempt, so the consumer retries then parks it: an event we cannot read is
// kept for a person, never half-recorded.
export class InvalidCardEventError extends Error {
  readonly code = 'AFC_API_INVALID_CARD_EVENT';
}

function checked<T extends TSchema>(schema: T, routing_key: string, payload: unknown) {
  if (Value.Check(schema, payload)) return payload;
  const first = Value.Errors(schema, payload).First();
  throw new InvalidCardEventError(`not a ${routing_key}: ${first?.path ?? ''} ${first?.message ?? ''}`);
}

// The event's id is its message_id (what every copy of it carries): one that says otherwise is a
// publisher bug, and recording it under either id could record one event twice.
function sameId(event: { event_id: string }, message_id: string) {
  if (event.event_id !== message_id)
    throw new InvalidCardEventError(`event_id ${event.event_id} is not the message_id ${message_id}`);
}

export function entryOfEvent(routing_key: string, message_id: string, payload: unknown): LifecycleEntry {
  if (routing_key === 'card.issued') {
    const event = checked(CardIssued, routing_key, payload);
    sameId(event, message_id);
    return {
      event_id: message_id,
      program: event.program,
      card_token: event.card_token,
      user_token: event.user_token,
      type: 'card.issued',
      reason: null,
      details: {
        last_four: event.last_four,
        expiration_month: event.expiration_month,
        expiration_year: event.expiration_year,
      },
      occurred_at: event.issued_at,
    };
  }
  if (routing_key === 'card.issue.failed') {
    const event = checked(CardIssueFailed, routing_key, payload);
    sameId(event, message_id);
    return {
      event_id: message_id,
      program: event.program,
      card_token: event.card_token,
      user_token: event.user_token,
      type: 'card.issue.failed',
      reason: event.reason,
      details: {
        command_id: event.command_id,
        attempts: event.attempts,
        ...(event.marqeta_error_code === undefined ? {} : { marqeta_error_code: event.marqeta_error_code }),
      },
      occurred_at: event.failed_at,
    };
  }
  throw new InvalidCardEventError(`no card event is routed by ${routing_key}`);
}

export type CardEventOutcome = 'recorded' | 'duplicate' | 'invalid' | 'retry';

export interface CardEventsDependencies {
  readonly sql: Sql;
  readonly on_outcome?: (type: string, outcome: CardEventOutcome) => void;
}

// The card-events consumer: each card.issued / card.issue.failed becomes one history row, keyed
// by the message_id (the event's own deterministic id), so the issuer's republishes and the
// broker's redeliveries add nothing. Failures are thrown: retried through the queue's delays,
// then parked like every consumer's.
export function createCardEventsHandler(deps: CardEventsDependencies): MessageHandler {
  return async (message) => {
    let entry: LifecycleEntry;
    try {
      entry = entryOfEvent(message.routing_key, message.message_id, message.payload);
    } catch (error) {
      deps.on_outcome?.(message.routing_key, 'invalid');
      throw error;
    }
    const recorded = await recordLifecycleEvent(deps.sql, entry).catch((error: unknown) => {
      deps.on_outcome?.(entry.type, 'retry');
      throw error;
    });
    const outcome = recorded ? 'recorded' : 'duplicate';
    deps.on_outcome?.(entry.type, outcome);
    message.logger.info(
      { event: 'api.card_event', type: entry.type, card_token: entry.card_token, outcome },
      'card lifecycle event',
    );
  };
}
