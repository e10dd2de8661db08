import assert from 'node:assert/strict';
import type { OutboxEvent } from '@afc/card-state';

export type LedgerState = 'pending' | 'cleared' | 'partially_cleared' | 'reversed' | 'declined' | 'expired';

// What one event adds to its ledger row, stored with it (transaction_events.details). The row is
// always re-derived from the set of its events' contributions (deriveRow), never patched from
// "the last event": the same events in any order give the same row.
export interface Contribution {
  readonly type: OutboxEvent['type'];
  readonly kind: string;
  readonly method: string;
  readonly occurred_at_ms: number;
  readonly requested_minor: number;
  readonly authorized_minor: number;
  // An approval the service answered Marqeta as a timeout decline: authorized taken back.
  readonly undone_minor: number;
  readonly cleared_minor: number;
  // Given back from the hold: a reversal, or the rest of it after a final clearing.
  readonly released_minor: number;
  readonly refunded_minor: number;
  // The authorization itself was declined (a declined event, or the timeout of an authorization).
  readonly declined: boolean;
  readonly decline_reason: string | null;
  readonly memo: string | null;
  readonly note: string | null;
  readonly original_jit_token: string | null;
  readonly transaction_token: string | null;
  readonly network: string | null;
  readonly merchant: OutboxEvent['merchant'];
}

// The row the ledger keeps per hold: the authorization's JIT token. Incrementals, reversals,
// clearings and refunds that name an original land on the original's row.
export function ledgerToken(event: OutboxEvent): string {
  if (event.type === 'authorization.declined' || event.original_jit_token === undefined)
    return event.jit_token;
  return event.original_jit_token;
}

// What the event gave back from the hold, as counted: the negative amounts of its counter
// deltas (each delta entry spans its day, week and month once).
function givenBack(event: OutboxEvent): number {
  let total = 0;
  for (const delta of event.counter_deltas) if (delta.amount_minor < 0) total -= delta.amount_minor;
  return total;
}

function raised(event: OutboxEvent): number {
  let total = 0;
  for (const delta of event.counter_deltas) if (delta.amount_minor > 0) total += delta.amount_minor;
  return total;
}

// invalid_amount: the authorizer applied nothing, so neither does the ledger.
function amounts(event: OutboxEvent) {
  const amount = event.note === 'invalid_amount' ? 0 : Math.max(0, event.amount_minor);
  const zero = { requested: 0, authorized: 0, undone: 0, cleared: 0, released: 0, refunded: 0 };
  switch (event.type) {
    case 'authorization.approved':
    case 'authorization.incremental':
      return { ...zero, requested: amount, authorized: amount };
    case 'authorization.declined':
      return { ...zero, requested: amount };
    case 'authorization.reversed':
      return { ...zero, released: givenBack(event) };
    case 'transaction.cleared':
      return { ...zero, cleared: amount, released: givenBack(event) };
    case 'transaction.refunded':
      return { ...zero, refunded: amount };
    case 'authorization.advice':
      return { ...zero, requested: raised(event), authorized: raised(event), released: givenBack(event) };
    case 'authorization.timeout_released':
      // What the undo gave back from the hold; the authorization's own amount is its request.
      return { ...zero, requested: event.kind === 'authorization' ? amount : 0, undone: givenBack(event) };
  }
}

export function contributionOf(event: OutboxEvent): Contribution {
  const a = amounts(event);
  const declined =
    event.type === 'authorization.declined' ||
    (event.type === 'authorization.timeout_released' && event.kind === 'authorization');
  return {
    type: event.type,
    kind: event.kind,
    method: event.method,
    occurred_at_ms: event.occurred_at_ms,
    requested_minor: a.requested,
    authorized_minor: a.authorized,
    undone_minor: a.undone,
    cleared_minor: a.cleared,
    released_minor: a.released,
    refunded_minor: a.refunded,
    declined,
    decline_reason: event.decline_reason ?? null,
    memo: event.memo ?? null,
    note: event.note ?? null,
    original_jit_token: event.original_jit_token ?? null,
    transaction_token: event.transaction_token ?? null,
    network: event.network ?? null,
    merchant: event.merchant,
  };
}

export interface StoredContribution {
  readonly event_id: string;
  readonly contribution: Contribution;
}

export interface DerivedRow {
  readonly state: LedgerState;
  readonly requested_minor: number;
  readonly authorized_minor: number;
  readonly cleared_minor: number;
  readonly reversed_minor: number;
  readonly refunded_minor: number;
  readonly decline_reason: string | null;
  readonly memo: string | null;
  readonly created_at_ms: number;
  // The event whose descriptive fields (merchant, method, network) the row shows.
  readonly primary: Contribution;
}

const rank: Record<Contribution['type'], number> = {
  'authorization.approved': 0,
  'authorization.declined': 0,
  'authorization.advice': 1,
  'authorization.incremental': 2,
  'authorization.timeout_released': 3,
  'transaction.cleared': 4,
  'authorization.reversed': 5,
  'transaction.refunded': 6,
};

// A total order on events that does not depend on arrival: by type, then event id.
function primaryOf(events: readonly StoredContribution[]): Contribution {
  const sorted = [...events].sort(
    (a, b) =>
      rank[a.contribution.type] - rank[b.contribution.type] ||
      (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0),
  );
  const first = sorted[0];
  assert.ok(first !== undefined, 'a ledger row has at least one event');
  return first.contribution;
}

function sumOf(events: readonly StoredContribution[], field: keyof Contribution): number {
  let total = 0;
  for (const { contribution } of events) total += contribution[field] as number;
  assert.ok(Number.isSafeInteger(total) && total >= 0, `${field} sum`);
  return total;
}

function stateOf(
  a: { authorized: number; cleared: number; reversed: number; refunded: number },
  reversal: boolean,
) {
  if (a.cleared > 0) return a.cleared + a.reversed >= a.authorized ? 'cleared' : 'partially_cleared';
  if (a.authorized > 0) return a.reversed >= a.authorized ? 'reversed' : 'pending';
  // Nothing authorized (yet): a refund of its own is settled; a reversal seen before its
  // approval already says where the row ends up; anything else waits for its authorization.
  if (a.refunded > 0) return 'cleared';
  return reversal ? 'reversed' : 'pending';
}

// The row as a function of the set of its events: order-free by construction.
export function deriveRow(events: readonly StoredContribution[]): DerivedRow {
  const primary = primaryOf(events);
  const decline = events.find(({ contribution }) => contribution.declined)?.contribution;
  const requested = sumOf(events, 'requested_minor');
  const cleared = sumOf(events, 'cleared_minor');
  const refunded = sumOf(events, 'refunded_minor');
  const created_at_ms = Math.min(...events.map(({ contribution }) => contribution.occurred_at_ms));
  if (decline !== undefined && cleared === 0 && refunded === 0) {
    return {
      state: 'declined',
      requested_minor: requested,
      authorized_minor: 0,
      cleared_minor: 0,
      reversed_minor: 0,
      refunded_minor: 0,
      decline_reason: decline.decline_reason ?? 'TRANSACTION_NOT_PERMITTED',
      memo: decline.memo,
      created_at_ms,
      primary,
    };
  }
  const authorized = Math.max(0, sumOf(events, 'authorized_minor') - sumOf(events, 'undone_minor'));
  // A reversal releases at most what was held (the check transactions_reversed_check).
  const reversed = Math.min(authorized, sumOf(events, 'released_minor'));
  const reversal = events.some(({ contribution }) => contribution.type === 'authorization.reversed');
  const amounts = { authorized, cleared, reversed, refunded };
  return {
    state: stateOf(amounts, reversal),
    requested_minor: Math.max(requested, authorized),
    authorized_minor: authorized,
    cleared_minor: cleared,
    reversed_minor: reversed,
    refunded_minor: refunded,
    decline_reason: null,
    memo: null,
    created_at_ms,
    primary,
  };
}
