import { describe, expect, it } from 'vitest';
import { type Contribution, deriveRow, type StoredContribution } from '../src/ledger.ts';

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
