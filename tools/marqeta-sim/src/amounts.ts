import { badRequest } from './errors.ts';
import { currencyDigits } from './merchants.ts';

// Amounts stay as the caller sent them (a JSON number or a decimal string) and reach the
// gateway unchanged, so both forms Marqeta uses can be exercised. The simulator never does
// arithmetic on them: it only checks that they are plain decimals in major units.
const plain_decimal = /^(0|[1-9][0-9]{0,9})(\.[0-9]{1,6})?$/;

export type Amount = number | string;

// Decimal places of a valid amount; a bad request otherwise.
export function checkAmount(amount: Amount, options: { readonly allow_zero?: boolean } = {}): number {
  // String(1e21) is '1e+21' and String(-1) is '-1': neither passes the pattern.
  const text = typeof amount === 'number' ? String(amount) : amount;
  const match = plain_decimal.exec(text);
  if (match === null) throw badRequest(`amount must be a positive decimal in major units, got ${text}`);
  if (options.allow_zero !== true && /^0(\.0+)?$/.test(text)) throw badRequest('amount must be positive');
  return match[2] === undefined ? 0 : match[2].length - 1;
}

export function checkAmountFitsCurrency(decimal_places: number, currency_code: string): void {
  if (decimal_places > currencyDigits(currency_code)) {
    throw badRequest(`amount has more decimal places than ${currency_code} allows`);
  }
}
