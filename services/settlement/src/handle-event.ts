import type { MessageHandler } from '@afc/amqp';
import { OutboxEvent } from '@afc/card-state';
import type { PostgresClient } from '@afc/postgres';
import { Value } from '@sinclair/typebox/value';
import { recordBusinessEvent } from './business-ledger.ts';
import { SettlementError } from './errors.ts';

export type EventOutcome = 'applied' | 'duplicate' | 'unknown_card';

export interface HandlerDependencies {
  readonly postgres: PostgresClient;
  readonly hold_expiry_ms: number;
  readonly on_outcome: (outcome: EventOutcome) => void;
}

function parseEvent(message_id: string, payload: unknown): OutboxEvent {
  if (!Value.Check(OutboxEvent, payload)) {
    const first = Value.Errors(OutboxEvent, payload).First();
    throw new SettlementError(
      'AFC_SETTLEMENT_INVALID_EVENT',
      `${message_id}: ${first?.path} ${first?.message}`,
    );
  }
  // The relay publishes event_id as the message id: anything else is not the authorizer's.
  if (payload.event_id !== message_id)
    throw new SettlementError('AFC_SETTLEMENT_INVALID_EVENT', `${message_id}: event_id differs`);
  return payload;
}

// One authorizer event per delivery. Idempotency is the ledger's own (unique event_id in the
// same transaction as the effect), so the consumer needs no is_processed hooks.
export function createEventHandler(deps: HandlerDependencies): MessageHandler {
  return async (message) => {
    const event = parseEvent(message.message_id, message.payload);
    if (event.program === null) {
      // A decline of a card Redis did not know: no card to hang a ledger row on, nothing moved.
      await deps.postgres.sql`
        insert into processed_events (consumer, event_id) values ('settlement', ${event.event_id})
        on conflict do nothing`;
      message.logger.info(
        { event: 'settlement.unknown_card', event_id: event.event_id },
        'no card: not in the ledger',
      );
      deps.on_outcome('unknown_card');
      return;
    }
    // The personal ledger is the next slice: parked (not lost) until it lands, then replayed.
    if (event.program === 'personal')
      throw new SettlementError('AFC_SETTLEMENT_PERSONAL_NOT_SUPPORTED', event.event_id);
    const outcome = await recordBusinessEvent(deps.postgres, event, deps.hold_expiry_ms);
    message.logger.info({ event: 'settlement.event', event_id: event.event_id, outcome }, 'settled');
    deps.on_outcome(outcome);
  };
}
