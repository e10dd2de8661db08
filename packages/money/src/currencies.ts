export interface Currency {
  // ISO 4217 alphabetic code, upper case ("USD").
  readonly alpha: string;
  // ISO 4217 numeric code as three digits, leading zeros kept ("048").
  readonly numeric: string;
  // Digits after the decimal point in the minor unit (USD 2, JPY 0, KWD 3).
  readonly exponent: number;
}

// ISO 4217 (list one). Currencies we have not listed are refused rather than guessed: a wrong
// exponent moves money by a factor of ten.
const table: readonly (readonly [alpha: string, numeric: string, exponent: number])[] = [
  ['AED', '784', 2],
  ['AUD', '036', 2],
  ['BHD', '048', 3],
  ['BRL', '986', 2],
  ['CAD', '124', 2],
  ['CHF', '756', 2],
  ['CLP', '152', 0],
  ['CNY', '156', 2],
  ['CZK', '203', 2],
  ['DKK', '208', 2],
  ['EUR', '978', 2],
  ['GBP', '826', 2],
  ['HKD', '344', 2],
  ['HUF', '348', 2],
  ['IDR', '360', 2],
  ['ILS', '376', 2],
  ['INR', '356', 2],
  ['IQD', '368', 3],
  ['ISK', '352', 0],
  ['JOD', '400', 3],
  ['JPY', '392', 0],
  ['KRW', '410', 0],
  ['KWD', '414', 3],
  ['LYD', '434', 3],
  ['MXN', '484', 2],
  ['MYR', '458', 2],
  ['NOK', '578', 2],
  ['NZD', '554', 2],
  ['OMR', '512', 3],
  ['PHP', '608', 2],
  ['PLN', '985', 2],
  ['PYG', '600', 0],
  ['RON', '946', 2],
  ['SAR', '682', 2],
  ['SEK', '752', 2],
  ['SGD', '702', 2],
  ['THB', '764', 2],
  ['TND', '788', 3],
  ['TRY', '949', 2],
  ['TWD', '901', 2],
  ['UGX', '800', 0],
  ['USD', '840', 2],
  ['VND', '704', 0],
  ['XAF', '950', 0],
  ['XOF', '952', 0],
  ['ZAR', '710', 2],
];

export const currencies: readonly Currency[] = table.map(([alpha, numeric, exponent]) =>
  Object.freeze({ alpha, numeric, exponent }),
);

const by_code = new Map<string, Currency>();
for (const currency of currencies) {
  by_code.set(currency.alpha, currency);
  by_code.set(currency.numeric, currency);
}

// Upper-case alpha ("USD", as Marqeta sends it) or three-digit numeric ("840", "048"). Lower
// case is refused, not normalised: a field that arrives as "usd" is not the one we think it is.
export function currencyOf(code: string): Currency | undefined {
  return by_code.get(code);
}
