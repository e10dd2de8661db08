import assert from 'node:assert/strict';

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
