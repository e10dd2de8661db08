import assert from 'node:assert/strict';
import { currencyOf } from './currencies.ts';

// Minor units back to major-unit text: '1.91', '100' (JPY), '0.005' (KWD), '-1.50'. Built from
// the integer's digits, so it is exact for every safe integer.
export function formatMinor(minor: number, currency: string): string {
  assert.ok(Number.isSafeInteger(minor), `minor units must be a safe integer, got ${minor}`);
  const found = currencyOf(currency);
  assert.ok(found !== undefined, `unknown currency ${currency}`);
  const digits = String(Math.abs(minor)).padStart(found.exponent + 1, '0');
  const split = digits.length - found.exponent;
  const text = found.exponent === 0 ? digits : `${digits.slice(0, split)}.${digits.slice(split)}`;
  return minor < 0 ? `-${text}` : text;
}

export function addMinor(a: number, b: number): number {
  assert.ok(
    Number.isSafeInteger(a) && Number.isSafeInteger(b),
    `minor units must be safe integers: ${a}, ${b}`,
  );
  const sum = a + b;
  // Both safe, so the float sum is exact unless it leaves the safe range, which this catches.
  assert.ok(Number.isSafeInteger(sum), `sum of ${a} and ${b} leaves the safe integer range`);
  return sum;
}

export function sumMinor(values: readonly number[]): number {
  let total = 0;
  for (const value of values) total = addMinor(total, value);
  return total;
}
