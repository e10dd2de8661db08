import type { OutboxEvent } from '@afc/card-state';
import type { Contribution } from './ledger.ts';
import { contributionOf, ledgerToken } from './ledger.ts';
import type { WebhookFacts } from './webhook-transaction.ts';

export type Program = 'business' | 'personal';
export type CounterDelta = OutboxEvent['counter_deltas'][number];
export interface BalanceDelta {
  readonly available_minor: number;
  readonly held_minor: number;
}

// One effect to record on one ledger row, whatever described it: the authorizer's event, a
// transaction webhook, or settlement's own expiry. The business and the personal ledger record
// the same inputs the same way (idempotent by event_id, the row derived from the set).
export interface LedgerInput {
  // The idempotency key: the authorizer's event id, the webhook's event token, `<jit>:hold.expired`.
  readonly event_id: string;
  readonly ledger_token: string;
  readonly program: Program;
  readonly card_token: string;
  readonly user_token: string;
  readonly currency: string;
  readonly occurred_at_ms: number;
  // The history's kind (transaction_events.kind).
  readonly kind: string;
  readonly amount_minor: number;
  readonly contribution: Contribution;
  // Durable counters and wallets follow what Redis counted: only the authorizer's events and
  // settlement's own Redis movements carry these; webhooks carry none (see README).
  readonly counter_deltas: readonly CounterDelta[];
  readonly balance_delta: BalanceDelta;
}

const no_balance_change: BalanceDelta = { available_minor: 0, held_minor: 0 };

export function inputOfEvent(event: OutboxEvent, program: Program): LedgerInput {
  return {
    event_id: event.event_id,
    ledger_token: ledgerToken(event),
    program,
    card_token: event.card_token,
    user_token: event.user_token,
    currency: event.currency,
    occurred_at_ms: event.occurred_at_ms,
    kind: event.type,
    amount_minor: Math.max(0, event.amount_minor),
    contribution: contributionOf(event),
    counter_deltas: event.counter_deltas,
    balance_delta: event.balance_delta,
  };
}

export function inputOfWebhook(facts: WebhookFacts, program: Program): LedgerInput {
  return {
    event_id: facts.event_id,
    ledger_token: facts.ledger_token,
    program,
    card_token: facts.card_token,
    user_token: facts.user_token,
    currency: facts.currency,
    occurred_at_ms: facts.occurred_at_ms,
    kind: `webhook.${facts.marqeta_type.toLowerCase().replace(/[^a-z0-9_.]/g, '_')}`,
    amount_minor: facts.amount_minor,
    contribution: facts.contribution,
    counter_deltas: [],
    balance_delta: no_balance_change,
  };
}

// What the expiry sweep did to the hold in Redis (card-state's expireHold movement).
export interface ExpiryMovement {
  readonly released_minor: number;
  readonly captured_minor: number;
  readonly counter_deltas: readonly CounterDelta[];
  readonly balance_delta: BalanceDelta;
}

export interface ExpiryFacts {
  // The authorization's JIT token (the row's ledger token).
  readonly jit_token: string;
  readonly program: Program;
  readonly card_token: string;
  readonly user_token: string;
  readonly currency: string;
  readonly expired_at_ms: number;
  readonly movement: ExpiryMovement;
}

// For the expiry sweep: the row becomes 'expired' (or cleared, for a single-message hold
// captured at expiry), and the counters and wallet follow what the script moved, once: the
// event id is `<jit>:hold.expired`, so a sweep that runs again records nothing.
export function expiryInput(facts: ExpiryFacts): LedgerInput {
  const event_id = `${facts.jit_token}:hold.expired`;
  return {
    event_id,
    ledger_token: facts.jit_token,
    program: facts.program,
    card_token: facts.card_token,
    user_token: facts.user_token,
    currency: facts.currency,
    occurred_at_ms: facts.expired_at_ms,
    kind: 'hold.expired',
    amount_minor: facts.movement.released_minor + facts.movement.captured_minor,
    contribution: {
      type: 'hold.expired',
      source: 'settlement',
      effect: event_id,
      request_key: event_id,
      kind: 'expiry',
      method: 'pgfs.authorization',
      occurred_at_ms: facts.expired_at_ms,
      requested_minor: 0,
      authorized_minor: 0,
      undone_minor: 0,
      cleared_minor: facts.movement.captured_minor,
      released_minor: facts.movement.released_minor,
      refunded_minor: 0,
      declined: false,
      expired: true,
      decline_reason: null,
      memo: null,
      note: 'hold_expired',
      original_jit_token: null,
      transaction_token: null,
      network: null,
      merchant: { mcc: null, mid: null, country: null },
    },
    counter_deltas: facts.movement.counter_deltas,
    balance_delta: facts.movement.balance_delta,
  };
}
