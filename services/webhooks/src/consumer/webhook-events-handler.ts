import type { MessageContext, MessageHandler } from '@afc/amqp';
import type { CardStateStore, RecordSources } from '@afc/card-state';
import { WebhookReceived } from '@afc/messages';
import type { PostgresClient, TransactionSql } from '@afc/postgres';
import { Value } from '@sinclair/typebox/value';
import { metricTypeOf } from '../metrics.ts';
import { handleCardTransition, type TransitionOutcome } from './card-transition.ts';
import { isWebhooksError, WebhooksError, webhooks_error_codes } from './errors.ts';
import { handleUserTransition } from './user-transition.ts';

// The consumer stops waiting for an attempt past its handler timeout (and retries the message);
// the attempt is counted then, once, not when its work finally gives up.
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('handler timed out'));
  // The work may still settle later: nobody waits for it any more.
  work.catch(() => {});
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(new Error('handler timed out'));
    signal.addEventListener('abort', abort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

// Outcomes counted per delivery: what the transition did, or why nothing was done.
export type ConsumeOutcome = TransitionOutcome | 'not_ours' | 'retry' | 'invalid';

export interface WebhookEventsDependencies {
  readonly postgres: PostgresClient;
  readonly sources: RecordSources;
  readonly card_state: CardStateStore;
  readonly on_outcome?: (type: string, outcome: ConsumeOutcome) => void;
}

// The webhook-events queue: card and user transitions into the data of record and Redis. Every
// other type is acknowledged with a log line (business transitions: our companies are not
// Marqeta businesses; unknown types: Marqeta added one; transactions: settlement's, here only
// through a binding left from before they were routed to settlement). A throw retries the
// message through the queue's delays, then parks it.
export function createWebhookEventsHandler(deps: WebhookEventsDependencies): MessageHandler {
  const transaction = <T>(fn: (tx: TransactionSql) => Promise<T>) => deps.postgres.transaction(fn);
  const transition = { sources: deps.sources, card_state: deps.card_state };
  const dispatch = async (received: WebhookReceived, message: MessageContext): Promise<ConsumeOutcome> => {
    if (received.type === 'cardtransitions') {
      return handleCardTransition(transaction, transition, received.event, message.logger);
    }
    if (received.type === 'usertransitions') {
      return handleUserTransition(transaction, transition, received.event, message.logger);
    }
    message.logger.warn(
      { event: 'webhooks.event.not_ours', type: received.type, attempt: message.attempt },
      'webhook event type this consumer does not apply: acknowledged',
    );
    return 'not_ours';
  };
  return async (message) => {
    const received = message.payload;
    if (!Value.Check(WebhookReceived, received)) {
      deps.on_outcome?.('invalid', 'invalid');
      const first = Value.Errors(WebhookReceived, received).First();
      throw new WebhooksError(
        webhooks_error_codes.invalid_event,
        `not a WebhookReceived: ${first?.path ?? ''} ${first?.message ?? ''}`.trim(),
      );
    }
    const type = metricTypeOf(received.type);
    try {
      // Not inside the optional call: its arguments are not evaluated when there is no callback.
      const outcome = await untilAborted(dispatch(received, message), message.signal);
      deps.on_outcome?.(type, outcome);
    } catch (error) {
      const invalid = isWebhooksError(error) && error.code === webhooks_error_codes.invalid_event;
      deps.on_outcome?.(type, invalid ? 'invalid' : 'retry');
      throw error;
    }
  };
}
