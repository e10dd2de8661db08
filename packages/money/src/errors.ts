export const money_error_codes = {
  invalid_amount: 'AFC_MONEY_INVALID_AMOUNT',
  too_many_decimals: 'AFC_MONEY_TOO_MANY_DECIMALS',
  negative: 'AFC_MONEY_NEGATIVE',
  zero: 'AFC_MONEY_ZERO',
  out_of_range: 'AFC_MONEY_OUT_OF_RANGE',
  unknown_currency: 'AFC_MONEY_UNKNOWN_CURRENCY',
} as const;

export type MoneyErrorCode = (typeof money_error_codes)[keyof typeof money_error_codes];

// How a value appears in a message: amounts are not secrets, but an arbitrary object is not
// printed whole.
export function describeValue(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}...` : value);
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (value === null) return 'null';
  return `a value of type ${typeof value}`;
}

// Matched by `code`, never by message.
export class MoneyError extends Error {
  readonly code: MoneyErrorCode;
  readonly value: unknown;

  constructor(code: MoneyErrorCode, message: string, value: unknown) {
    super(message);
    this.name = 'MoneyError';
    this.code = code;
    this.value = value;
  }
}

export class InvalidAmountError extends MoneyError {
  constructor(value: unknown, reason: string) {
    super(money_error_codes.invalid_amount, `invalid amount ${describeValue(value)}: ${reason}`, value);
    this.name = 'InvalidAmountError';
  }
}

export class TooManyDecimalsError extends MoneyError {
  constructor(value: unknown, currency: string, exponent: number) {
    super(
      money_error_codes.too_many_decimals,
      `amount ${describeValue(value)} has more than ${exponent} non-zero decimals for ${currency}`,
      value,
    );
    this.name = 'TooManyDecimalsError';
  }
}

export class NegativeAmountError extends MoneyError {
  constructor(value: unknown) {
    super(money_error_codes.negative, `amount ${describeValue(value)} is negative`, value);
    this.name = 'NegativeAmountError';
  }
}

export class ZeroAmountError extends MoneyError {
  constructor(value: unknown) {
    super(money_error_codes.zero, `amount ${describeValue(value)} is zero`, value);
    this.name = 'ZeroAmountError';
  }
}

export class OutOfRangeError extends MoneyError {
  constructor(value: unknown, currency: string) {
    super(
      money_error_codes.out_of_range,
      `amount ${describeValue(value)} ${currency} exceeds ${Number.MAX_SAFE_INTEGER} minor units`,
      value,
    );
    this.name = 'OutOfRangeError';
  }
}

export class UnknownCurrencyError extends MoneyError {
  constructor(currency: unknown) {
    super(money_error_codes.unknown_currency, `unknown currency ${describeValue(currency)}`, currency);
    this.name = 'UnknownCurrencyError';
  }
}
