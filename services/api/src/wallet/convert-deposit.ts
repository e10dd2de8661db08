import { currencyOf } from '@afc/money';

// Decimal text as the request carries it: digits, an optional fraction, no sign or exponent.
export const decimal_text_pattern = '^(0|[1-9][0-9]{0,29})(\\.[0-9]{1,30})?$';
const decimal_text = new RegExp(decimal_text_pattern);

export type Conversion =
  | { readonly ok: true; readonly credited_minor: number }
  | { readonly ok: false; readonly field: string; readonly message: string };

// A decimal text as an integer numerator over 10^scale, exactly.
function exact(text: string): { numerator: bigint; scale: number } | undefined {
  if (!decimal_text.test(text)) return undefined;
  const [whole = '', fraction = ''] = text.split('.');
  return { numerator: BigInt(whole + fraction), scale: fraction.length };
}

// crypto_amount × rate in the card currency's minor units, in integers end to end (never a
// float), rounded down: the wallet is never credited a fraction of a minor unit it did not
// receive. E.g. 0.0125 BTC × 64000.99 USD/BTC = 800.012375 USD → 80001 cents.
export function creditedMinor(crypto_amount: string, rate: string, currency: string): Conversion {
  const amount = exact(crypto_amount);
  if (amount === undefined)
    return { ok: false, field: 'body.crypto_amount', message: 'crypto_amount must be decimal text' };
  const per_unit = exact(rate);
  if (per_unit === undefined) return { ok: false, field: 'body.rate', message: 'rate must be decimal text' };
  if (per_unit.numerator === 0n) return { ok: false, field: 'body.rate', message: 'rate must be positive' };
  const found = currencyOf(currency);
  if (found === undefined)
    return { ok: false, field: 'currency', message: `the wallet's currency ${currency} is unknown` };
  const product = amount.numerator * per_unit.numerator * 10n ** BigInt(found.exponent);
  const minor = product / 10n ** BigInt(amount.scale + per_unit.scale);
  if (minor <= 0n)
    return {
      ok: false,
      field: 'body.crypto_amount',
      message: 'the deposit credits less than one minor unit',
    };
  if (minor > BigInt(Number.MAX_SAFE_INTEGER))
    return { ok: false, field: 'body.crypto_amount', message: 'the credited amount is out of range' };
  return { ok: true, credited_minor: Number(minor) };
}
