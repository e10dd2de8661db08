import { webhook_token_pattern } from '@afc/messages';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { WebhooksError, webhooks_error_codes } from './errors.ts';

// What the consumer reads of Marqeta's cardtransition and usertransition objects; every other
// field passes untouched (Marqeta adds fields).
const Token = Type.String({ pattern: webhook_token_pattern });
// ISO 8601 with an explicit zone: a time without one cannot be ordered against another.
const CreatedTime = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:?\\d{2})$',
});
const State = Type.String({ pattern: '^[A-Z_]{1,32}$' });

const CardTransitionEvent = Type.Object({
  token: Token,
  card_token: Token,
  state: State,
  created_time: CreatedTime,
});
const UserTransitionEvent = Type.Object({
  token: Token,
  user_token: Token,
  status: State,
  created_time: CreatedTime,
});

export interface TransitionEvent {
  readonly event_token: string;
  readonly subject: 'card' | 'user';
  readonly subject_token: string;
  // Marqeta's card state or user status, as sent.
  readonly state: string;
  readonly created_time: Date;
  readonly state_rank: number;
}

// Among transitions of one subject at the same created_time (Marqeta's times are often to the
// second), the more restrictive state wins, whatever the arrival order.
const card_state_rank: Readonly<Record<string, number>> = { ACTIVE: 1, SUSPENDED: 2, TERMINATED: 3 };
const user_status_rank: Readonly<Record<string, number>> = {
  ACTIVE: 1,
  SUSPENDED: 2,
  CLOSED: 3,
  TERMINATED: 3,
};

function invalid(what: string, schema: Parameters<typeof Value.Errors>[0], event: unknown): WebhooksError {
  const first = Value.Errors(schema, event).First();
  return new WebhooksError(
    webhooks_error_codes.invalid_event,
    `not a ${what}: ${first?.path ?? ''} ${first?.message ?? ''}`.trim(),
  );
}

function createdTime(text: string, what: string): Date {
  const time = new Date(text);
  if (Number.isNaN(time.getTime())) {
    throw new WebhooksError(webhooks_error_codes.invalid_event, `${what}: created_time is not a time`);
  }
  return time;
}

export function parseCardTransition(event: unknown): TransitionEvent {
  if (!Value.Check(CardTransitionEvent, event)) throw invalid('card transition', CardTransitionEvent, event);
  const e = event as Static<typeof CardTransitionEvent>;
  return {
    event_token: e.token,
    subject: 'card',
    subject_token: e.card_token,
    state: e.state,
    created_time: createdTime(e.created_time, 'card transition'),
    state_rank: card_state_rank[e.state] ?? 0,
  };
}

export function parseUserTransition(event: unknown): TransitionEvent {
  if (!Value.Check(UserTransitionEvent, event)) throw invalid('user transition', UserTransitionEvent, event);
  const e = event as Static<typeof UserTransitionEvent>;
  return {
    event_token: e.token,
    subject: 'user',
    subject_token: e.user_token,
    state: e.status,
    created_time: createdTime(e.created_time, 'user transition'),
    state_rank: user_status_rank[e.status] ?? 0,
  };
}

// Whether `event` comes after `newest` in the order the data of record follows.
export function isNewer(
  event: TransitionEvent,
  newest: Pick<TransitionEvent, 'created_time' | 'state_rank' | 'event_token'>,
): boolean {
  const by_time = event.created_time.getTime() - newest.created_time.getTime();
  if (by_time !== 0) return by_time > 0;
  if (event.state_rank !== newest.state_rank) return event.state_rank > newest.state_rank;
  // Tokens are ASCII (webhook_token_pattern): code-unit order is the database's "C" order.
  return event.event_token > newest.event_token;
}
