import { parseAmount } from '@afc/money';
import { badRequest } from './errors.ts';

// Amounts stay as the caller sent them (a JSON number or a decimal string) and reach the
// gateway unchanged, so both forms Marqeta uses can be exercised. The simulator does no
// arithmetic on them; @afc/money checks exactly that the currency can carry them.
export type Amount = number | string;

export interface AmountRules {
  // Balance inquiries carry 0; purchases never do.
  readonly allow_zero?: boolean;
}

export function fitsCurrency(amount: Amount, currency_code: string, rules: AmountRules = {}): boolean {
  return parseAmount(amount, currency_code, { allow_zero: rules.allow_zero ?? false }).ok;
}

export function checkAmount(amount: Amount, currency_code: string, rules: AmountRules = {}): void {
  const result = parseAmount(amount, currency_code, { allow_zero: rules.allow_zero ?? false });
  if (!result.ok)
    throw badRequest(`invalid amount ${String(amount)} ${currency_code}: ${result.error.message}`);
}
