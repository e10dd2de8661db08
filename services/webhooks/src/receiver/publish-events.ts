import { type AmqpClient, exchange_names, isAmqpError } from '@afc/amqp';
import type { WebhookReceived } from '@afc/messages';
import type { ReceivedEvent } from './webhook-body.ts';

export type PublishOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly failed: number; readonly codes: readonly string[] };

// `webhook.<type>`: settlement binds webhook.transactions, the webhook-events queue the other
// known types and webhook.unknown.# (packages/amqp's product topology). Published `mandatory`,
// so a key bound by no queue fails the batch with 503 instead of being dropped.
export function routingKeyOf(type: string): string {
  return `webhook.${type}`;
}

// Every event published at once and every confirm awaited: the caller answers 200 only when the
// broker holds them all. Some may be confirmed when another fails; Marqeta then sends the whole
// batch again and consumers deduplicate on message_id (the event token).
export async function publishEvents(
  amqp: AmqpClient,
  events: readonly ReceivedEvent[],
  received_at: string,
  timeout_ms: number,
): Promise<PublishOutcome> {
  const results = await Promise.allSettled(
    events.map(({ type, event }) => {
      const message: WebhookReceived = { type, event, received_at };
      return amqp.publish(exchange_names.events, routingKeyOf(type), message, {
        message_id: event.token,
        type: 'webhook.received',
        confirm_timeout_ms: timeout_ms,
      });
    }),
  );
  const codes = new Set<string>();
  let failed = 0;
  for (const result of results) {
    if (result.status === 'fulfilled') continue;
    failed += 1;
    codes.add(isAmqpError(result.reason) ? result.reason.code : 'unexpected');
  }
  return failed === 0 ? { ok: true } : { ok: false, failed, codes: [...codes] };
}
