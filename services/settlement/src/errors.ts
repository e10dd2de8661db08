export const settlement_error_codes = [
  'AFC_SETTLEMENT_INVALID_EVENT',
  'AFC_SETTLEMENT_CARD_NOT_FOUND',
  'AFC_SETTLEMENT_CARD_MISMATCH',
  'AFC_SETTLEMENT_CONCURRENT_COPY',
  // A transaction webhook without gpa_order.jit_funding: nothing links it to a ledger row.
  'AFC_SETTLEMENT_UNMATCHED_WEBHOOK',
  // Redis could not release a hold Marqeta declined after we approved (state not loaded).
  'AFC_SETTLEMENT_RELEASE_FAILED',
  // Redis could not apply or hold what only Marqeta reported: its card was loaded and the
  // script still found state missing.
  'AFC_SETTLEMENT_STATE_NOT_LOADED',
] as const;
export type SettlementErrorCode = (typeof settlement_error_codes)[number];

// Every one of them fails the delivery: the queue retries it and parks it after the last
// attempt, where it waits for a fix and a replay instead of being lost.
export class SettlementError extends Error {
  readonly code: SettlementErrorCode;

  constructor(code: SettlementErrorCode, detail: string) {
    super(`${code}: ${detail}`);
    this.name = 'SettlementError';
    this.code = code;
  }
}
