import { type Static, Type } from '@sinclair/typebox';

// Marqeta's tokens (up to 100 characters in its API; 36 for the ones we choose). Anything else
// is refused at the webhook receiver, so a consumer can use a token as a key part.
export const webhook_token_pattern = '^[A-Za-z0-9._-]{1,100}$';

// The body key the event came under (`transactions`, `cardtransitions`, ...), or
// `unknown.<key>` for a key the receiver does not know yet (published, not dropped: Marqeta adds
// event types, and an event refused would be retried for two weeks and then lost).
export const webhook_type_pattern = '^(unknown\\.)?[a-z][a-z0-9_]{0,63}$';

const Timestamp = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,6})?Z$' });

// One Marqeta webhook event as received, published by the webhooks service on the events
// exchange with routing key `webhook.<type>` (settlement binds webhook.transactions, the
// webhook-events queue the other types).
// message_id = event.token: Marqeta delivers at least once and a 503 makes it send the whole
// batch again, so consumers deduplicate on it. The event is Marqeta's object untouched.
export const WebhookReceived = Type.Object({
  type: Type.String({ pattern: webhook_type_pattern }),
  event: Type.Object(
    { token: Type.String({ pattern: webhook_token_pattern }) },
    { additionalProperties: true },
  ),
  received_at: Timestamp,
});
export type WebhookReceived = Static<typeof WebhookReceived>;
