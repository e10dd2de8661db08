import { describe, expect, it } from 'vitest';
import {
  type Contribution,
  deriveRow,
  reportedOnlyByMarqeta,
  type StoredContribution,
} from '../src/ledger.ts';

// What a reversal that found no hold in Redis (note hold_not_found) takes off its row.
function contribution(event_id: string, overrides: Partial<Contribution>): StoredContribution {
  const base: Contribution = {
    type: 'authorization.approved',
    source: 'authorizer',
    effect: event_id,
    request_key: 'jit-1',
    kind: 'authorization',
    method: 'pgfs.authorization',
    occurred_at_ms: 1_700_000_000_000,
    requested_minor: 0,
    authorized_minor: 0,
    undone_minor: 0,
    cleared_minor: 0,
    released_minor: 0,
    refunded_minor: 0,
    declined: false,
    decline_reason: null,
    memo: null,
    note: null,
    original_jit_token: null,
    transaction_token: null,
    network: null,
    merchant: { mcc: null, mid: null, country: null },
  };
  return { event_id, contribution: { ...base, ...overrides } };
}

const reversal_without_hold = contribution('jit-1-r:authorization.reversed', {
  type: 'authorization.reversed',
  kind: 'reversal',
  request_key: 'jit-1-r',
  original_jit_token: 'jit-1',
  released_minor: 30,
  note: 'hold_not_found',
});

describe('deriveRow: a reversal that found no hold in Redis', () => {
  it('comes off an approval Redis lost', () => {
    const approval = contribution('jit-1:authorization.approved', {
      requested_minor: 100,
      authorized_minor: 100,
    });
    expect(deriveRow([approval, reversal_without_hold])).toMatchObject({
      state: 'pending',
      authorized_minor: 100,
      reversed_minor: 30,
    });
  });

  it("does not come off a stand-in's advice a second time: the advice held only the rest", () => {
    // ADR 0008: the advice after the reversal held 100 − 30.
    const advice = contribution('jit-1:authorization.advice', {
      type: 'authorization.advice',
      kind: 'advice',
      requested_minor: 70,
      authorized_minor: 70,
      note: 'standin_held',
    });
    expect(deriveRow([reversal_without_hold, advice])).toMatchObject({
      state: 'pending',
      authorized_minor: 70,
      reversed_minor: 0,
    });
  });
});

describe('deriveRow: Marqeta approved what our gateway declined (its stand-in; ADR 0010)', () => {
  const ruled_decline = contribution('jit-1:authorization.declined', {
    type: 'authorization.declined',
    requested_minor: 100,
    declined: true,
    decline_reason: 'AMOUNT_LIMIT_EXCEEDED',
    memo: 'per_transaction_limit',
  });
  const marqeta_approval = contribution('tx-1', {
    type: 'authorization.approved',
    source: 'webhook',
    effect: 'jit-1:authorization.approved',
    requested_minor: 100,
    authorized_minor: 100,
    transaction_token: 'tx-1',
  });
  const restored = contribution('jit-1:authorization.approved', {
    requested_minor: 100,
    authorized_minor: 100,
    note: 'standin_held',
  });

  // Our approval that the timeout release undid (we answered Marqeta a timeout decline).
  const late_approval = contribution('jit-1:authorization.approved', {
    requested_minor: 100,
    authorized_minor: 100,
  });
  const undone = contribution('jit-1:authorization.timeout_released', {
    type: 'authorization.timeout_released',
    requested_minor: 100,
    undone_minor: 100,
    declined: true,
    decline_reason: 'TRANSACTION_NOT_PERMITTED',
    memo: 'timeout',
  });

  it("overrules our decline, in any order, whether or not card-state's restore is in", () => {
    const service_decline = contribution('jit-1:authorization.declined', {
      type: 'authorization.declined',
      requested_minor: 100,
      declined: true,
      decline_reason: 'TRANSACTION_NOT_PERMITTED',
      memo: 'timeout',
    });
    for (const events of [
      [service_decline, marqeta_approval],
      [ruled_decline, marqeta_approval],
      [marqeta_approval, ruled_decline],
      [ruled_decline, marqeta_approval, restored],
      [restored, marqeta_approval, ruled_decline],
    ]) {
      expect(deriveRow(events)).toMatchObject({
        state: 'pending',
        requested_minor: 100,
        authorized_minor: 100,
        decline_reason: null,
        memo: null,
      });
    }
    expect(deriveRow([ruled_decline, marqeta_approval]).primary.source).toBe('webhook');
    expect(deriveRow([ruled_decline, marqeta_approval, restored]).primary.note).toBe('standin_held');
  });

  it("is open with a stand-in's advice, over our decision's decline or our undone approval", () => {
    const advice = contribution('jit-1:authorization.advice', {
      type: 'authorization.advice',
      kind: 'advice',
      method: 'pgfs.authorization.advice',
      requested_minor: 100,
      authorized_minor: 100,
      note: 'standin_held',
    });
    expect(deriveRow([ruled_decline, advice])).toMatchObject({
      state: 'pending',
      authorized_minor: 100,
      decline_reason: null,
    });
    // Our approval, undone by the timeout release (its hold deleted); the advice held anew.
    expect(deriveRow([late_approval, undone])).toMatchObject({ state: 'declined', memo: 'timeout' });
    // Marqeta's approval alone does not reopen it: Redis holds nothing (the record is undone).
    expect(deriveRow([late_approval, undone, marqeta_approval])).toMatchObject({ state: 'declined' });
    expect(deriveRow([advice, late_approval, undone, marqeta_approval])).toMatchObject({
      state: 'pending',
      authorized_minor: 100,
      decline_reason: null,
    });
    // An advice that held nothing (it found our hold before the release undid it) reopens nothing.
    const unchanged = contribution('jit-1:authorization.advice', {
      type: 'authorization.advice',
      kind: 'advice',
      note: 'advice_unchanged',
    });
    expect(deriveRow([late_approval, unchanged, undone])).toMatchObject({ state: 'declined' });
    // Before the restore, the row is Marqeta's alone: a rebuild holds nothing for it.
    expect(reportedOnlyByMarqeta([ruled_decline, marqeta_approval])).toBe(true);
  });

  it('takes a reversal that found no hold off neither the undone approval nor the advice', () => {
    // Approved, undone by the timeout release; reversed 30 (no hold); the advice held the other
    // 70; cleared 40: Redis still holds 30, so the row must stay open for the sweep.
    const rest = contribution('jit-1-a:authorization.advice', {
      type: 'authorization.advice',
      kind: 'advice',
      request_key: 'jit-1-a',
      original_jit_token: 'jit-1',
      requested_minor: 70,
      authorized_minor: 70,
      note: 'advice_raised',
    });
    const clearing = contribution('jit-1-c:transaction.cleared', {
      type: 'transaction.cleared',
      kind: 'clearing',
      request_key: 'jit-1-c',
      original_jit_token: 'jit-1',
      cleared_minor: 40,
    });
    expect(deriveRow([late_approval, undone, reversal_without_hold, rest, clearing])).toMatchObject({
      state: 'partially_cleared',
      authorized_minor: 70,
      cleared_minor: 40,
      reversed_minor: 0,
    });
  });

  it("never overrules Marqeta's own word of a decline", () => {
    const marqeta_decline = contribution('tx-2', {
      type: 'authorization.declined',
      source: 'webhook',
      effect: 'jit-1:authorization.declined',
      requested_minor: 100,
      declined: true,
      decline_reason: 'INSUFFICIENT_FUNDS',
    });
    const our_approval = contribution('jit-1:authorization.approved', {
      requested_minor: 100,
      authorized_minor: 100,
    });
    expect(deriveRow([our_approval, marqeta_decline])).toMatchObject({
      state: 'declined',
      decline_reason: 'INSUFFICIENT_FUNDS',
    });
    // Our overruled decline no longer stands in for Marqeta's report of a decline.
    expect(deriveRow([ruled_decline, marqeta_approval, marqeta_decline])).toMatchObject({
      state: 'declined',
      decline_reason: 'INSUFFICIENT_FUNDS',
    });
  });
});
