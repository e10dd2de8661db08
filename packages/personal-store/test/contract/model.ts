// A pure model of a wallet, written from the specification rather than from the store's
// code: the property test compares the store to it after every step.

export type ModelKind = 'deposit' | 'hold' | 'release' | 'capture' | 'refund' | 'adjust';

export interface ModelWallet {
  available_minor: number;
  held_minor: number;
  version: number;
}

export type ModelOutcome = { ok: true } | { ok: false; reason: 'insufficient_funds' | 'insufficient_held' };

export function modelApply(wallet: ModelWallet, kind: ModelKind, amount_minor: number): ModelOutcome {
  let available = wallet.available_minor;
  let held = wallet.held_minor;
  if (kind === 'deposit' || kind === 'refund' || kind === 'adjust') available += amount_minor;
  if (kind === 'hold') {
    available -= amount_minor;
    held += amount_minor;
  }
  if (kind === 'release') {
    available += amount_minor;
    held -= amount_minor;
  }
  if (kind === 'capture') held -= amount_minor;
  if (available < 0) return { ok: false, reason: 'insufficient_funds' };
  if (held < 0) return { ok: false, reason: 'insufficient_held' };
  wallet.available_minor = available;
  wallet.held_minor = held;
  wallet.version += 1;
  return { ok: true };
}
