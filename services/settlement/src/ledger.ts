import assert from 'node:assert/strict';
import type { OutboxEvent } from '@afc/card-state';

export type LedgerState = 'pending' | 'cleared' | 'partially_cleared' | 'reversed' | 'declined' | 'expired';

// Who described the effect. The authorizer's events carry exactly what Redis did (amounts,
// counter deltas, balance deltas); Marqeta's webhooks say what the network did, including what
// the authorizer never saw; settlement's own (hold expiry) come from the expiry sweep.
export type ContributionSource = 'authorizer' | 'webhook' | 'settlement';

export type ContributionType = OutboxEvent['type'] | 'hold.expired';

export interface Merchant {
  readonly mcc: string | null;
  readonly mid: string | null;
  readonly country: string | null;
  readonly name?: string | undefined;
}

// What one event adds to its ledger row, stored with it (transaction_events.details). The row is
// always re-derived from the set of its events' contributions (deriveRow), never patched from
// "the last event": the same events in any order give the same row.
export interface Contribution {
  readonly type: ContributionType;
  // Absent in rows written before webhooks were settled: read as 'authorizer'.
  readonly source?: ContributionSource;
  // The effect this contribution describes: `${jit_token of the message}:${type}`, which is the
  // authorizer's event id for it. A webhook describing an effect the authorizer also reported
  // is superseded by it (see effectiveOf). Absent in old rows: the event id.
  readonly effect?: string;
  // The JIT message whose request amount requested_minor is: one request counted once, whoever
  // reports it (approval, its timeout release, the webhook). Absent in old rows: the event id.
  readonly request_key?: string;
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
  // The hold ended by expiry (settlement's sweep).
  readonly expired?: boolean;
  readonly decline_reason: string | null;
  readonly memo: string | null;
  readonly note: string | null;
  readonly original_jit_token: string | null;
  readonly transaction_token: string | null;
  readonly network: string | null;
  readonly merchant: Merchant;
}

// The row the ledger keeps per hold: the authorization's JIT token. Incrementals, reversals,
// clearings and refunds that name an original land on the original's row.
export function ledgerToken(event: OutboxEvent): string {
  if (event.type === 'authorization.declined' || event.original_jit_token === undefined)
    return event.jit_token;
  return event.original_jit_token;
}

// What the event gave back from the hold, as counted: the negative amounts of its counter
// deltas (each delta entry spans its day, week and month once). Both programs count per card.
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
      // Redis had no hold to give back from (lost with Redis, or a stand-in's reversal before its
      // advice): the row still says what the network reversed (how much of it counts: releasedOf).
      return { ...zero, released: event.note === 'hold_not_found' ? amount : givenBack(event) };
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
    source: 'authorizer',
    effect: event.event_id,
    request_key: event.jit_token,
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
    merchant: {
      mcc: knownOrNull(event.merchant.mcc),
      mid: knownOrNull(event.merchant.mid),
      country: knownOrNull(event.merchant.country),
      ...(event.merchant.name === undefined ? {} : { name: event.merchant.name }),
    },
  };
}

// The authorizer writes '' for what Marqeta's card acceptor left out (mcc and country are
// optional there); the ledger's columns hold null for unknown ('' fails their format checks,
// which would park the event for good).
function knownOrNull(text: string): string | null {
  return text === '' ? null : text;
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

const rank: Record<ContributionType, number> = {
  'authorization.approved': 0,
  'authorization.declined': 0,
  'authorization.advice': 1,
  'authorization.incremental': 2,
  'authorization.timeout_released': 3,
  'transaction.cleared': 4,
  'authorization.reversed': 5,
  'transaction.refunded': 6,
  'hold.expired': 7,
};

const source_rank: Record<ContributionSource, number> = { authorizer: 0, settlement: 1, webhook: 2 };

function sourceOf(contribution: Contribution): ContributionSource {
  return contribution.source ?? 'authorizer';
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// A total order on events that does not depend on arrival: by type, source, then event id.
function byRank(a: StoredContribution, b: StoredContribution): number {
  return (
    rank[a.contribution.type] - rank[b.contribution.type] ||
    source_rank[sourceOf(a.contribution)] - source_rank[sourceOf(b.contribution)] ||
    compareIds(a.event_id, b.event_id)
  );
}

// The rule that keeps one effect from counting twice: an effect the authorizer reported counts
// as the authorizer reported it (its amounts are what Redis moved); a webhook's description of
// it stays in the history but adds nothing. An effect only webhooks describe counts once (the
// smallest event token among them). A function of the set: the same whatever arrived first.
export function effectiveOf(events: readonly StoredContribution[]): StoredContribution[] {
  const reported = new Set<string>();
  for (const e of events) {
    if (sourceOf(e.contribution) !== 'webhook') reported.add(e.contribution.effect ?? e.event_id);
  }
  const by_effect = new Map<string, StoredContribution>();
  const kept: StoredContribution[] = [];
  for (const e of events) {
    const effect = e.contribution.effect ?? e.event_id;
    if (sourceOf(e.contribution) !== 'webhook') kept.push(e);
    else if (!reported.has(effect)) {
      const seen = by_effect.get(effect);
      if (seen === undefined || e.event_id < seen.event_id) by_effect.set(effect, e);
    }
  }
  return [...kept, ...by_effect.values()];
}

function sumOf(events: readonly StoredContribution[], field: keyof Contribution): number {
  let total = 0;
  for (const { contribution } of events) total += contribution[field] as number;
  assert.ok(Number.isSafeInteger(total) && total >= 0, `${field} sum`);
  return total;
}

// One request counted once, whichever events report it (the largest report of it).
function requestedOf(events: readonly StoredContribution[]): number {
  const by_request = new Map<string, number>();
  for (const { event_id, contribution } of events) {
    const key = contribution.request_key ?? event_id;
    by_request.set(key, Math.max(by_request.get(key) ?? 0, contribution.requested_minor));
  }
  let total = 0;
  for (const amount of by_request.values()) total += amount;
  return total;
}

// What the undos take back. Marqeta's word that an incremental timed out undoes at most what
// that incremental's own approval put on the row (same request): one the gateway declined late
// or never decided held nothing, and must not come off the authorization. The authorizer's
// release counts as Redis moved it.
function undoneOf(events: readonly StoredContribution[]): number {
  const authorized_by_request = new Map<string, number>();
  for (const { event_id, contribution } of events) {
    const key = contribution.request_key ?? event_id;
    authorized_by_request.set(key, (authorized_by_request.get(key) ?? 0) + contribution.authorized_minor);
  }
  let total = 0;
  for (const { event_id, contribution } of events) {
    const approved = authorized_by_request.get(contribution.request_key ?? event_id) ?? 0;
    const webhook = sourceOf(contribution) === 'webhook';
    total += webhook ? Math.min(contribution.undone_minor, approved) : contribution.undone_minor;
  }
  assert.ok(Number.isSafeInteger(total) && total >= 0, 'undone_minor sum');
  return total;
}

// What the reversals gave back. One that found no hold in Redis (note hold_not_found) says
// what the network reversed, counted only against what approvals and incrementals authorized:
// a stand-in's advice that came after it held only the rest (ADR 0008), so its reversal is
// already out of the advice's amount and must not come off twice.
// An approval the timeout release undid (its hold deleted; `undone`, undoneOf) is no longer
// there to reverse from.
function releasedOf(events: readonly StoredContribution[], undone: number): number {
  let released = 0;
  let unheld = 0;
  let approved = 0;
  for (const { contribution: c } of events) {
    if (c.type === 'authorization.approved' || c.type === 'authorization.incremental')
      approved += c.authorized_minor;
    if (c.type === 'authorization.reversed' && c.note === 'hold_not_found') unheld += c.released_minor;
    else released += c.released_minor;
  }
  const total = released + Math.min(unheld, Math.max(0, approved - undone));
  assert.ok(Number.isSafeInteger(total) && total >= 0, 'released_minor sum');
  return total;
}

type StateAmounts = { authorized: number; cleared: number; reversed: number; refunded: number };
type StateFlags = { reversal: boolean; expired: boolean };

// Once its expiry is recorded a row is never open again: the sweep selects open rows by
// expires_at and records an expiry once (`<jit>:hold.expired`), so an expired row that derived
// open (an approved zero-amount verification, a partial clearing whose Redis hold was lost and
// released nothing, a partial clearing after the expiry) would be listed by every pass and,
// once a batch of them led the queue, keep every other hold from expiring.
function stateOf(a: StateAmounts, flags: StateFlags): LedgerState {
  const state = openOrSettled(a, flags);
  const open = state === 'pending' || state === 'partially_cleared';
  return flags.expired && open ? 'expired' : state;
}

function openOrSettled(a: StateAmounts, flags: StateFlags): LedgerState {
  if (a.cleared > 0) return a.cleared + a.reversed >= a.authorized ? 'cleared' : 'partially_cleared';
  // An expired hold stays expired whatever it released; a clearing that settles it in full,
  // before or after the expiry, ends it 'cleared' (above).
  if (flags.expired && a.authorized > 0) return 'expired';
  if (a.authorized > 0) return a.reversed >= a.authorized ? 'reversed' : 'pending';
  // Nothing authorized (yet): a refund of its own is settled; a reversal seen before its
  // approval already says where the row ends up; anything else waits for its authorization.
  if (a.refunded > 0) return 'cleared';
  return flags.reversal ? 'reversed' : 'pending';
}

// Why a declined row was declined: Marqeta's word first (a webhook saying the gateway timed
// out explains the row better than our own undo), then by rank. Every report is considered,
// superseded ones included: they do not count amounts, but they do say why.
function declineOf(events: readonly StoredContribution[]): Contribution | undefined {
  const declines = events.filter(({ contribution }) => contribution.declined);
  declines.sort(
    (a, b) =>
      Number(sourceOf(b.contribution) === 'webhook') - Number(sourceOf(a.contribution) === 'webhook') ||
      byRank(a, b),
  );
  return declines[0]?.contribution;
}

// The events as they count once Marqeta's stand-in has overruled our declines of an
// authorization it approved (our answer never reached Marqeta; ADR 0010). The network's approval is the row's outcome, as card-state's restore or
// the advice holds it. Only the authorizer's declines: Marqeta's own word of a decline stands.
// - Our decision's decline, when a webhook reports the same request approved or the row has an
//   advice: left out (it stays in the history and counted nothing).
// - The timeout release of our approval, when the row has an advice: it still counts what it
//   gave back, but no longer declines the row. The advice found no hold and held the purchase
//   anew, so the row is open with it, and the expiry sweep can end that hold.
function afterStandIn(all: readonly StoredContribution[]): StoredContribution[] {
  const approved = new Set<string>();
  let advised = false;
  for (const { event_id, contribution: c } of all) {
    if (sourceOf(c) === 'webhook' && c.type === 'authorization.approved')
      approved.add(c.request_key ?? event_id);
    // An advice the gateway applied that held something: Redis holds a purchase for it.
    if (sourceOf(c) === 'authorizer' && c.type === 'authorization.advice' && c.authorized_minor > 0)
      advised = true;
  }
  if (approved.size === 0 && !advised) return [...all];
  return all.flatMap((e) => {
    const c = e.contribution;
    if (sourceOf(c) !== 'authorizer' || !c.declined) return [e];
    if (c.type === 'authorization.declined' && (advised || approved.has(c.request_key ?? e.event_id)))
      return [];
    if (c.type === 'authorization.timeout_released' && advised) {
      return [{ event_id: e.event_id, contribution: { ...c, declined: false } }];
    }
    return [e];
  });
}

// The row as a function of the set of its events: order-free by construction.
export function deriveRow(all: readonly StoredContribution[]): DerivedRow {
  assert.ok(all.length > 0, 'a ledger row has at least one event');
  // Overruled before supersession: Marqeta's own report of the decline counts again.
  const counted = afterStandIn(all);
  const events = effectiveOf(counted).sort(byRank);
  assert.ok(events.length > 0, 'a ledger row counts at least one event');
  const primary = (events[0] as StoredContribution).contribution;
  const decline = declineOf(counted);
  const requested = requestedOf(events);
  const cleared = sumOf(events, 'cleared_minor');
  const refunded = sumOf(events, 'refunded_minor');
  const created_at_ms = Math.min(...events.map(({ contribution }) => contribution.occurred_at_ms));
  const declined_now = events.some(({ contribution }) => contribution.declined);
  if (declined_now && decline !== undefined && cleared === 0 && refunded === 0) {
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
  const undone = undoneOf(events);
  const authorized = Math.max(0, sumOf(events, 'authorized_minor') - undone);
  // A reversal releases at most what was held (the check transactions_reversed_check).
  const reversed = Math.min(authorized, releasedOf(events, undone));
  const flags = {
    reversal: events.some(({ contribution }) => contribution.type === 'authorization.reversed'),
    expired: events.some(({ contribution }) => contribution.expired === true),
  };
  return {
    state: stateOf({ authorized, cleared, reversed, refunded }, flags),
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

// Whether only Marqeta reported the authorization of a row (the authorizer's event never
// reached the books): the authorizer never counted it in the durable totals or held it in a
// wallet, so a hold rebuilt for it would give back, on release, what was never counted. Beside
// a stand-in's advice, Marqeta's approval webhook ranks first and the row counts both as
// authorized: the rebuild then holds nothing rather than twice what the advice counted (the
// safe side: ADR 0010).
export function reportedOnlyByMarqeta(all: readonly StoredContribution[]): boolean {
  return all.length > 0 && sourceOf(deriveRow(all).primary) === 'webhook';
}
