export { addMinor, formatMinor, sumMinor } from './arithmetic.ts';
export { type Currency, currencies, currencyOf } from './currencies.ts';
export {
  InvalidAmountError,
  MoneyError,
  type MoneyErrorCode,
  money_error_codes,
  NegativeAmountError,
  OutOfRangeError,
  TooManyDecimalsError,
  UnknownCurrencyError,
  ZeroAmountError,
} from './errors.ts';
export {
  type Money,
  type ParseAmountOptions,
  type ParseAmountResult,
  type ParsedAmount,
  parseAmount,
  parseAmountOrThrow,
} from './parse-amount.ts';
