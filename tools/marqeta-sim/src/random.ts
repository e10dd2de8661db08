import assert from 'node:assert/strict';

// Seedable randomness (mulberry32): the same seed gives the same merchants, POS data, fault
// rolls and jitter, so tests are deterministic. Tokens are NOT drawn from it: a restarted
// simulator with the same seed must never reuse a transaction or JIT token.
export class SeededRandom {
  #state: number;

  constructor(seed: number) {
    assert.ok(Number.isSafeInteger(seed), 'seed must be a safe integer');
    this.#state = seed >>> 0;
  }

  // A float in [0, 1).
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  // An integer in [min, max].
  int(min: number, max: number): number {
    assert.ok(Number.isSafeInteger(min) && Number.isSafeInteger(max) && min <= max);
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    assert.ok(items.length > 0, 'pick from an empty list');
    return items[this.int(0, items.length - 1)] as T;
  }

  // Rates of exactly 0 or 1 draw nothing, so switching a knob off does not shift the stream.
  chance(rate: number): boolean {
    assert.ok(rate >= 0 && rate <= 1, 'rate must be within [0, 1]');
    if (rate === 0) return false;
    if (rate === 1) return true;
    return this.next() < rate;
  }

  digits(count: number): string {
    let out = '';
    for (let i = 0; i < count; i += 1) out += String(this.int(0, 9));
    return out;
  }
}
