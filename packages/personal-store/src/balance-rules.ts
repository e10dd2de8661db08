import assert from 'node:assert/strict';
import type { BalanceChangeDeclineReason, BalanceChangeKind } from './types.ts';

export interface BalanceDeltas {
  readonly available_delta: number;
  readonly held_delta: number;
}

// What each kind does to (available, held). Both backends apply these deltas with a condition
// that neither balance ends below zero, so the rule lives in one place.
export function balanceDeltas(kind: BalanceChangeKind, amount_minor: number): BalanceDeltas {
  switch (kind) {
    case 'hold':
      return { available_delta: -amount_minor, held_delta: amount_minor };
    case 'release':
      return { available_delta: amount_minor, held_delta: -amount_minor };
    case 'capture':
      return { available_delta: 0, held_delta: -amount_minor };
    case 'refund':
      return { available_delta: amount_minor, held_delta: 0 };
    case 'adjust':
      return { available_delta: amount_minor, held_delta: 0 };
  }
}

// Why a change with these deltas cannot apply to these balances, or null if it can.
export function declineReason(
  balances: { readonly available_minor: number; readonly held_minor: number },
  deltas: BalanceDeltas,
): BalanceChangeDeclineReason | null {
  if (balances.available_minor + deltas.available_delta < 0) return 'insufficient_funds';
  if (balances.held_minor + deltas.held_delta < 0) return 'insufficient_held';
  return null;
}

export function assertBalances(balances: {
  readonly available_minor: number;
  readonly held_minor: number;
}): void {
  assert.ok(
    Number.isSafeInteger(balances.available_minor) && balances.available_minor >= 0,
    'available >= 0',
  );
  assert.ok(Number.isSafeInteger(balances.held_minor) && balances.held_minor >= 0, 'held >= 0');
}
