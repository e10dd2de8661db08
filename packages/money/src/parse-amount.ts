import { currencyOf } from './currencies.ts';
import {
  InvalidAmountError,
  type MoneyError,
  NegativeAmountError,
  OutOfRangeError,
  TooManyDecimalsError,
  UnknownCurrencyError,
  ZeroAmountError,
} from './errors.ts';

export interface Money {
  // Integer minor units (cents for USD, yen for JPY, fils for KWD), a safe integer.
  readonly minor: number;
  // ISO 4217 alphabetic code.
  readonly currency: string;
}

export interface ParsedAmount extends Money {
  // The amount exactly as received, to echo back to Marqeta unchanged.
  readonly original: number | string;
}

export interface ParseAmountOptions {
  // Default false: Marqeta amounts are magnitudes; the method says which way money moves.
  readonly allow_negative?: boolean;
  // Default true: account verifications and balance inquiries carry 0.
  readonly allow_zero?: boolean;
}

export type ParseAmountResult =
  | { readonly ok: true; readonly value: ParsedAmount }
  | { readonly ok: false; readonly error: MoneyError };

// JSON's number grammar without the exponent: no "+", no leading zeros, no "1." or ".5", no
// spaces. Text that JSON could not have produced as a number is not an amount we guess at.
const decimal_text = /^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;
// Far longer than any real amount; bounds the work spent on hostile input.
const max_text_length = 64;
const max_safe_digits = String(Number.MAX_SAFE_INTEGER).length;

function failure(error: MoneyError): ParseAmountResult {
  return { ok: false, error };
}

// A JS number is read through its shortest round-trip text (String(1.91) is "1.91"), which is
// the decimal the sender wrote whenever it had at most 15 significant digits.
function textOfNumber(value: number, currency: string, exponent: number): string | MoneyError {
  if (!Number.isFinite(value)) return new InvalidAmountError(value, 'not a finite number');
  if (Object.is(value, -0)) return '-0';
  const text = String(value);
  if (!text.includes('e')) return text;
  return Math.abs(value) >= 1
    ? new OutOfRangeError(value, currency)
    : new TooManyDecimalsError(value, currency, exponent);
}

interface Options {
  readonly allow_negative: boolean;
  readonly allow_zero: boolean;
}

function parseText(
  text: string,
  original: number | string,
  currency: string,
  exponent: number,
  options: Options,
): ParseAmountResult {
  if (text.length > max_text_length) {
    return failure(new InvalidAmountError(original, `longer than ${max_text_length} characters`));
  }
  const match = decimal_text.exec(text);
  if (match === null) {
    return failure(
      new InvalidAmountError(original, 'expected digits, an optional leading "-" and "." decimals'),
    );
  }
  const [, sign = '', whole = '', fraction = ''] = match;
  // Digits past the exponent are accepted only when they are zeros ("1.000" USD is 100 cents).
  if (/[^0]/.test(fraction.slice(exponent)))
    return failure(new TooManyDecimalsError(original, currency, exponent));
  const digits = `${whole}${fraction.slice(0, exponent).padEnd(exponent, '0')}`.replace(/^0+(?=[0-9])/, '');
  // Integer text of at most 16 digits converts exactly; isSafeInteger rejects what rounded.
  const magnitude = digits.length <= max_safe_digits ? Number(digits) : Number.POSITIVE_INFINITY;
  if (!Number.isSafeInteger(magnitude)) return failure(new OutOfRangeError(original, currency));
  if (sign === '-' && magnitude === 0) return failure(new InvalidAmountError(original, 'negative zero'));
  if (sign === '-' && !options.allow_negative) return failure(new NegativeAmountError(original));
  if (magnitude === 0 && !options.allow_zero) return failure(new ZeroAmountError(original));
  const minor = sign === '-' ? -magnitude : magnitude;
  return { ok: true, value: { minor, currency, original } };
}

// Marqeta amounts (JSON number or decimal string, major units) to integer minor units by the
// currency's exponent. Never through floating-point arithmetic: the text is read digit by digit.
export function parseAmount(
  value: unknown,
  currency: string,
  options: ParseAmountOptions = {},
): ParseAmountResult {
  const found = currencyOf(currency);
  if (found === undefined) return failure(new UnknownCurrencyError(currency));
  const resolved = {
    allow_negative: options.allow_negative ?? false,
    allow_zero: options.allow_zero ?? true,
  };
  if (typeof value === 'string') return parseText(value, value, found.alpha, found.exponent, resolved);
  if (typeof value !== 'number') {
    return failure(new InvalidAmountError(value, 'expected a JSON number or a decimal string'));
  }
  const text = textOfNumber(value, found.alpha, found.exponent);
  if (typeof text !== 'string') return failure(text);
  return parseText(text, value, found.alpha, found.exponent, resolved);
}

// For callers that already validated the shape (fixtures, trusted internal data).
export function parseAmountOrThrow(
  value: unknown,
  currency: string,
  options: ParseAmountOptions = {},
): ParsedAmount {
  const result = parseAmount(value, currency, options);
  if (!result.ok) throw result.error;
  return result.value;
}
