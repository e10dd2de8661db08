import { type Static, Type } from '@sinclair/typebox';

// Tokens we choose for Marqeta (at most 36 characters there) and use as Redis key parts.
const Token = Type.String({ pattern: '^[A-Za-z0-9._-]{1,36}$' });
const Program = Type.Union([Type.Literal('business'), Type.Literal('personal')]);
// Patterns rather than `format`: TypeBox's checker knows no formats unless registered, and a
// pattern says exactly what we accept.
const Uuid = Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' });
const Timestamp = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,6})?Z$' });

// The control plane asks the card-issuer to issue a card it has recorded (state 'requested').
// Routing key card.issue.requested on the events exchange; message_id = command_id.
export const CardIssueRequested = Type.Object({
  command_id: Uuid,
  program: Program,
  card_token: Token,
  user_token: Token,
  card_product_token: Token,
  currency: Type.String({ pattern: '^[A-Z]{3}$' }),
  requested_at: Timestamp,
});
export type CardIssueRequested = Static<typeof CardIssueRequested>;

// The outcomes of issuance, published by the card-issuer on the events exchange after the data
// of record and Redis hold them (the outcome is durable before it is announced). Published again
// when a redelivered command finds the outcome already recorded, with the same message_id:
// consumers deduplicate by it. The api consumes them (card-events queue) into each card's
// lifecycle history. Never a card number or CVV.

// The card was issued at Marqeta, is recorded issued in the data of record and written through
// to Redis. Routing key card.issued; message_id = event_id = `${card_token}:issued`.
export const CardIssued = Type.Object({
  event_id: Type.String({ minLength: 1, maxLength: 200 }),
  program: Program,
  card_token: Token,
  user_token: Token,
  last_four: Type.String({ pattern: '^[0-9]{4}$' }),
  expiration_month: Type.Integer({ minimum: 1, maximum: 12 }),
  expiration_year: Type.Integer({ minimum: 2000, maximum: 2200 }),
  issued_at: Timestamp,
});
export type CardIssued = Static<typeof CardIssued>;

// Issuance failed for good (a 4xx Marqeta will never accept, or the queue's attempts exhausted):
// the card is recorded failed with the reason. Routing key card.issue.failed;
// message_id = event_id = `${card_token}:issue_failed:${command_id}` (each command that failed
// is one entry; a redelivery or a replay of the same command is the same entry).
export const CardIssueFailed = Type.Object({
  event_id: Type.String({ minLength: 1, maxLength: 200 }),
  program: Program,
  card_token: Token,
  user_token: Token,
  command_id: Uuid,
  reason: Type.String({ minLength: 1, maxLength: 500 }),
  marqeta_error_code: Type.Optional(Type.String({ minLength: 1, maxLength: 20 })),
  attempts: Type.Integer({ minimum: 1, maximum: 100 }),
  failed_at: Timestamp,
});
export type CardIssueFailed = Static<typeof CardIssueFailed>;
