import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Currency,
  currencies,
  formatMinor,
  MoneyError,
  money_error_codes,
  parseAmount,
  sumMinor,
} from '../src/index.ts';
import { exactDouble, referenceMinor, referenceSumText } from './reference.ts';

const currency_arb = fc.constantFrom(...currencies);
const known_codes: readonly string[] = Object.values(money_error_codes);
const signed = { allow_negative: true } as const;

// Valid decimal text for a currency: up to `exponent` decimals plus optional trailing zeros,
// magnitude bounded so the minor units stay within `max_minor`.
function decimalTextArb(currency: Currency, max_minor: number, negative: boolean) {
  const scale = 10 ** currency.exponent;
  return fc
    .record({
      whole: fc.integer({ min: 0, max: Math.floor(max_minor / scale) - 1 }),
      fraction: fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: currency.exponent }),
      zeros: fc.nat(3),
      minus: negative ? fc.boolean() : fc.constant(false),
    })
    .map(({ whole, fraction, zeros, minus }) => {
      const decimals = `${fraction.join('')}${'0'.repeat(zeros)}`;
      const text = decimals === '' ? String(whole) : `${whole}.${decimals}`;
      return minus && /[1-9]/.test(text) ? `-${text}` : text;
    });
}

function parsedMinor(value: unknown, currency: string): number {
  const result = parseAmount(value, currency, signed);
  if (!result.ok) throw new Error(`${String(value)} ${currency}: ${result.error.message}`);
  return result.value.minor;
}

describe('money properties', () => {
  it('formatMinor then parseAmount gives back the same minor units, for every currency', () => {
    fc.assert(
      fc.property(currency_arb, fc.maxSafeInteger(), fc.boolean(), (currency, minor, by_numeric) => {
        const text = formatMinor(minor, currency.alpha);
        const result = parseAmount(text, by_numeric ? currency.numeric : currency.alpha, signed);
        expect(result).toEqual({ ok: true, value: { minor, currency: currency.alpha, original: text } });
      }),
    );
  });

  it('parse, format, parse is the identity on valid texts, and agrees with BigInt', () => {
    const arb = currency_arb.chain((currency) =>
      fc.tuple(fc.constant(currency), decimalTextArb(currency, Number.MAX_SAFE_INTEGER, true)),
    );
    fc.assert(
      fc.property(arb, ([currency, text]) => {
        const minor = parsedMinor(text, currency.alpha);
        expect(BigInt(minor)).toBe(referenceMinor(text, currency.exponent));
        const formatted = formatMinor(minor, currency.alpha);
        expect(parsedMinor(formatted, currency.alpha)).toBe(minor);
        expect(formatMinor(parsedMinor(formatted, currency.alpha), currency.alpha)).toBe(formatted);
      }),
    );
  });

  it('the sum of amounts parsed one by one equals the parse of their exact decimal sum', () => {
    const arb = currency_arb.chain((currency) =>
      fc.tuple(fc.constant(currency), fc.array(decimalTextArb(currency, 10 ** 12, false), { maxLength: 40 })),
    );
    fc.assert(
      fc.property(arb, ([currency, texts]) => {
        const total = sumMinor(texts.map((text) => parsedMinor(text, currency.alpha)));
        expect(parsedMinor(referenceSumText(texts), currency.alpha)).toBe(total);
      }),
    );
  });

  it('a number that parses is never off by a minor unit and denotes the same double', () => {
    const decimal_number = fc
      .tuple(currency_arb, fc.integer({ min: -(10 ** 15) + 1, max: 10 ** 15 - 1 }))
      .map(([currency, k]) => ({ currency, value: k / 10 ** currency.exponent, k }));
    const any_number = fc
      .tuple(currency_arb, fc.double({ noNaN: true, noDefaultInfinity: true }))
      .map(([currency, value]) => ({ currency, value, k: undefined }));
    fc.assert(
      fc.property(fc.oneof(decimal_number, any_number), ({ currency, value, k }) => {
        const result = parseAmount(value, currency.alpha, signed);
        if (k !== undefined) expect(result.ok && result.value.minor).toBe(k);
        if (!result.ok) return;
        const { minor } = result.value;
        // |minor - value * 10^exponent| < 1, in exact rational arithmetic.
        const { num, den } = exactDouble(value);
        const distance = BigInt(minor) * den - num * 10n ** BigInt(currency.exponent);
        expect(distance < den && -distance < den).toBe(true);
        expect(Number(formatMinor(minor, currency.alpha))).toBe(value);
      }),
    );
  });

  it('numbers with a non-zero digit past the exponent are rejected as too many decimals', () => {
    const arb = fc.tuple(
      currency_arb,
      fc.integer({ min: -(10 ** 14), max: 10 ** 14 }).filter((k) => k % 10 !== 0),
      fc.integer({ min: 1, max: 2 }),
    );
    fc.assert(
      fc.property(arb, ([currency, k, extra]) => {
        const value = k / 10 ** (currency.exponent + extra);
        const result = parseAmount(value, currency.alpha, signed);
        expect(result.ok ? result.value : result.error.code).toBe(money_error_codes.too_many_decimals);
        const text = parseAmount(String(value), currency.alpha, signed);
        expect(text.ok ? text.value : text.error.code).toBe(money_error_codes.too_many_decimals);
      }),
    );
  });

  it('arbitrary text is either rejected with a typed error or parsed to the BigInt value', () => {
    const near_valid = fc.string({ unit: fc.constantFrom('0', '1', '5', '9', '.', '-', '+', 'e', ' ', 'x') });
    fc.assert(
      fc.property(currency_arb, fc.oneof(fc.string(), near_valid), (currency, text) => {
        const result = parseAmount(text, currency.alpha, signed);
        const reference = referenceMinor(text, currency.exponent);
        if (result.ok) {
          expect(BigInt(result.value.minor)).toBe(reference);
          return;
        }
        expect(result.error).toBeInstanceOf(MoneyError);
        expect(known_codes).toContain(result.error.code);
        // A rejected text is outside the grammar, too long, beyond the range, or negative zero.
        const in_range =
          text.length <= 64 && reference !== undefined && reference <= BigInt(Number.MAX_SAFE_INTEGER);
        expect(in_range && reference >= -BigInt(Number.MAX_SAFE_INTEGER) && !/^-0(\.0*)?$/.test(text)).toBe(
          false,
        );
      }),
      { numRuns: 300 },
    );
  });
});
