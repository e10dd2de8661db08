import { AssertionError } from 'node:assert';
import { describe, expect, it } from 'vitest';
import {
  addMinor,
  currencies,
  currencyOf,
  formatMinor,
  MoneyError,
  type MoneyErrorCode,
  money_error_codes,
  type ParseAmountOptions,
  parseAmount,
  parseAmountOrThrow,
  sumMinor,
  TooManyDecimalsError,
} from '../src/index.ts';

function minorOf(value: unknown, currency: string, options?: ParseAmountOptions): number {
  const result = parseAmount(value, currency, options);
  if (!result.ok) throw new Error(`expected ${String(value)} to parse: ${result.error.message}`);
  return result.value.minor;
}

function codeOf(value: unknown, currency: string, options?: ParseAmountOptions): MoneyErrorCode {
  const result = parseAmount(value, currency, options);
  if (result.ok) throw new Error(`expected ${String(value)} to be rejected, got ${result.value.minor}`);
  expect(result.error).toBeInstanceOf(MoneyError);
  return result.error.code;
}

describe('currencyOf', () => {
  it('knows the ISO 4217 codes and exponents we rely on', () => {
    const expected: [string, string, number][] = [
      ['USD', '840', 2],
      ['EUR', '978', 2],
      ['GBP', '826', 2],
      ['PLN', '985', 2],
      ['JPY', '392', 0],
      ['KWD', '414', 3],
      ['BHD', '048', 3],
      ['CAD', '124', 2],
      ['AUD', '036', 2],
      ['CHF', '756', 2],
      ['SEK', '752', 2],
      ['NOK', '578', 2],
      ['DKK', '208', 2],
      ['CZK', '203', 2],
      ['HUF', '348', 2],
      ['MXN', '484', 2],
      ['BRL', '986', 2],
      ['INR', '356', 2],
      ['SGD', '702', 2],
      ['HKD', '344', 2],
      ['NZD', '554', 2],
      ['ZAR', '710', 2],
      ['AED', '784', 2],
      ['CNY', '156', 2],
      ['KRW', '410', 0],
      ['ISK', '352', 0],
      ['CLP', '152', 0],
      ['VND', '704', 0],
      ['JOD', '400', 3],
      ['OMR', '512', 3],
      ['TND', '788', 3],
      ['IQD', '368', 3],
      ['LYD', '434', 3],
    ];
    for (const [alpha, numeric, exponent] of expected) {
      expect(currencyOf(alpha)).toEqual({ alpha, numeric, exponent });
      expect(currencyOf(numeric)).toBe(currencyOf(alpha));
    }
  });

  it('has one entry per alpha and per numeric code, well formed', () => {
    expect(new Set(currencies.map((currency) => currency.alpha)).size).toBe(currencies.length);
    expect(new Set(currencies.map((currency) => currency.numeric)).size).toBe(currencies.length);
    for (const { alpha, numeric, exponent } of currencies) {
      expect(alpha).toMatch(/^[A-Z]{3}$/);
      expect(numeric).toMatch(/^[0-9]{3}$/);
      expect([0, 2, 3]).toContain(exponent);
    }
  });

  it('refuses lower case, short numeric codes and unknown codes', () => {
    for (const code of ['usd', 'Usd', '48', '0840', 'XXX', '', ' USD'])
      expect(currencyOf(code)).toBeUndefined();
  });
});

describe('parseAmount', () => {
  it('converts numbers and decimal strings exactly by the exponent', () => {
    expect(parseAmount(1.91, 'USD')).toEqual({
      ok: true,
      value: { minor: 191, currency: 'USD', original: 1.91 },
    });
    expect(parseAmount('1.00', '840')).toEqual({
      ok: true,
      value: { minor: 100, currency: 'USD', original: '1.00' },
    });
    expect(minorOf(0.1, 'EUR')).toBe(10);
    expect(minorOf(19.99, 'GBP')).toBe(1999);
    expect(minorOf(4.35, 'USD')).toBe(435);
    expect(minorOf('0.07', 'USD')).toBe(7);
    expect(minorOf('1.000', 'USD')).toBe(100);
    expect(minorOf(100, 'JPY')).toBe(100);
    expect(minorOf('100.00', 'JPY')).toBe(100);
    expect(minorOf('0.005', 'KWD')).toBe(5);
    expect(minorOf(1.234, 'BHD')).toBe(1234);
    expect(minorOf('90071992547409.91', 'USD')).toBe(Number.MAX_SAFE_INTEGER);
    expect(minorOf('9007199254740991', 'JPY')).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('rejects non-zero decimals beyond the exponent, naming the value', () => {
    const result = parseAmount('1.001', 'USD');
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toBeInstanceOf(TooManyDecimalsError);
      expect(result.error.message).toBe('amount "1.001" has more than 2 non-zero decimals for USD');
    }
    expect(codeOf(0.1 + 0.2, 'USD')).toBe(money_error_codes.too_many_decimals);
    expect(codeOf(1.005, 'USD')).toBe(money_error_codes.too_many_decimals);
    expect(codeOf('100.5', 'JPY')).toBe(money_error_codes.too_many_decimals);
    expect(codeOf('0.0005', 'KWD')).toBe(money_error_codes.too_many_decimals);
    expect(codeOf(1e-7, 'USD')).toBe(money_error_codes.too_many_decimals);
  });

  it.each([
    '',
    ' ',
    ' 1',
    '1 ',
    '+1',
    '1.',
    '.5',
    '01',
    '00.5',
    '1e3',
    '1E3',
    '0x10',
    '1,00',
    '1_000',
    '--1',
    '1.2.3',
    'NaN',
    'Infinity',
    '-',
    '１',
    '٣',
    '1\n',
  ])('rejects the text %j as an invalid amount', (text) => {
    expect(codeOf(text, 'USD', { allow_negative: true })).toBe(money_error_codes.invalid_amount);
  });

  it('rejects values that are not finite numbers or text', () => {
    for (const value of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      null,
      undefined,
      true,
      {},
      [1],
      1n,
    ]) {
      expect(codeOf(value, 'USD', { allow_negative: true })).toBe(money_error_codes.invalid_amount);
    }
  });

  it('treats negatives and zero as the options say, and never accepts negative zero', () => {
    expect(codeOf('-1.50', 'USD')).toBe(money_error_codes.negative);
    expect(codeOf(-1.5, 'USD')).toBe(money_error_codes.negative);
    expect(minorOf('-1.50', 'USD', { allow_negative: true })).toBe(-150);
    expect(minorOf(-1.5, 'USD', { allow_negative: true })).toBe(-150);
    expect(minorOf('0', 'USD')).toBe(0);
    expect(minorOf(0, 'USD')).toBe(0);
    expect(codeOf('0.00', 'USD', { allow_zero: false })).toBe(money_error_codes.zero);
    for (const value of ['-0', '-0.00', -0]) {
      expect(codeOf(value, 'USD', { allow_negative: true })).toBe(money_error_codes.invalid_amount);
    }
  });

  it('rejects amounts past the safe integer range', () => {
    expect(codeOf('90071992547409.92', 'USD')).toBe(money_error_codes.out_of_range);
    expect(codeOf('9007199254740992', 'JPY')).toBe(money_error_codes.out_of_range);
    expect(codeOf(`1${'0'.repeat(40)}`, 'USD')).toBe(money_error_codes.out_of_range);
    expect(codeOf(1e21, 'USD')).toBe(money_error_codes.out_of_range);
    expect(codeOf(2 ** 60, 'JPY')).toBe(money_error_codes.out_of_range);
    expect(codeOf('1'.repeat(65), 'USD')).toBe(money_error_codes.invalid_amount);
  });

  it('rejects unknown currencies before looking at the amount', () => {
    for (const currency of ['usd', 'XXX', '', '999']) {
      expect(codeOf('1.00', currency)).toBe(money_error_codes.unknown_currency);
    }
  });

  it('throws the typed error from the throwing wrapper', () => {
    expect(parseAmountOrThrow('2.50', 'EUR')).toEqual({ minor: 250, currency: 'EUR', original: '2.50' });
    expect(() => parseAmountOrThrow('2.505', 'EUR')).toThrow(TooManyDecimalsError);
  });
});

describe('formatMinor', () => {
  it('writes major units with exactly the exponent decimals', () => {
    expect(formatMinor(191, 'USD')).toBe('1.91');
    expect(formatMinor(100, 'JPY')).toBe('100');
    expect(formatMinor(5, 'KWD')).toBe('0.005');
    expect(formatMinor(-150, 'USD')).toBe('-1.50');
    expect(formatMinor(0, 'USD')).toBe('0.00');
    expect(formatMinor(-0, 'USD')).toBe('0.00');
    expect(formatMinor(7, '840')).toBe('0.07');
    expect(formatMinor(Number.MAX_SAFE_INTEGER, 'USD')).toBe('90071992547409.91');
    expect(formatMinor(-Number.MAX_SAFE_INTEGER, 'BHD')).toBe('-9007199254740.991');
  });

  it('asserts a safe integer and a known currency', () => {
    expect(() => formatMinor(1.5, 'USD')).toThrow(AssertionError);
    expect(() => formatMinor(2 ** 53, 'USD')).toThrow(AssertionError);
    expect(() => formatMinor(1, 'XXX')).toThrow(AssertionError);
  });
});

describe('addMinor and sumMinor', () => {
  it('add safe integers and assert the result stays safe', () => {
    expect(addMinor(191, -91)).toBe(100);
    expect(sumMinor([])).toBe(0);
    expect(sumMinor([1, 2, 3, -4])).toBe(2);
    expect(addMinor(Number.MAX_SAFE_INTEGER - 1, 1)).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => addMinor(Number.MAX_SAFE_INTEGER, 1)).toThrow(AssertionError);
    expect(() => sumMinor([-Number.MAX_SAFE_INTEGER, -1])).toThrow(AssertionError);
    expect(() => addMinor(0.5, 1)).toThrow(AssertionError);
  });
});
