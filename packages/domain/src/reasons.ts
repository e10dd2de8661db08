// Marqeta's decline_reason values, and our memos: one internal reason code per distinct rule,
// each mapped to the decline_reason Marqeta gets. Marqeta passes memo on to the webhooks, so
// settlement and support see which rule declined.

export const decline_reasons = [
  'INVALID_AMOUNT',
  'INSUFFICIENT_FUNDS',
  'TRANSACTION_NOT_PERMITTED',
  'SUSPECTED_FRAUD',
  'AMOUNT_LIMIT_EXCEEDED',
  'TRANSACTION_COUNT_LIMIT_EXCEEDED',
  'DUPLICATE_TRANSACTION',
  'INVALID_MERCHANT',
  'INVALID_CARD',
  'NO_CREDIT_ACCOUNT',
  'EXPIRED_CARD',
  'NO_CHECKING_ACCOUNT',
  'NO_SAVINGS_ACCOUNT',
  'STOP_PAYMENT',
  'REVOCATION_AUTHORIZATION_ORDER',
  'REVOCATION_ALL_AUTHORIZATION_ORDER',
  'SOFT_DECLINE_AUTHENTICATION_REQUIRED',
  'CLOSED_ACCOUNT',
  'SOFT_DECLINE_PIN_REQUIRED',
  'CARD_NOT_ACTIVE',
  'CARDHOLDER_NOT_ACTIVE',
] as const;
export type DeclineReason = (typeof decline_reasons)[number];

// In rule order, then the memos the authorizer itself uses (method, system, deadline).
export const decline_memos = {
  replay_mismatch: 'DUPLICATE_TRANSACTION',
  card_not_found: 'INVALID_CARD',
  card_not_active: 'CARD_NOT_ACTIVE',
  card_expired: 'EXPIRED_CARD',
  cardholder_not_found: 'CARDHOLDER_NOT_ACTIVE',
  cardholder_not_active: 'CARDHOLDER_NOT_ACTIVE',
  amount_invalid: 'INVALID_AMOUNT',
  amount_zero: 'INVALID_AMOUNT',
  verification_amount_not_zero: 'INVALID_AMOUNT',
  original_not_found: 'TRANSACTION_NOT_PERMITTED',
  too_many_increments: 'TRANSACTION_NOT_PERMITTED',
  currency_mismatch: 'TRANSACTION_NOT_PERMITTED',
  mcc_blocked: 'INVALID_MERCHANT',
  mcc_not_allowed: 'INVALID_MERCHANT',
  merchant_blocked: 'INVALID_MERCHANT',
  country_blocked: 'TRANSACTION_NOT_PERMITTED',
  per_transaction_limit: 'AMOUNT_LIMIT_EXCEEDED',
  daily_amount_limit: 'AMOUNT_LIMIT_EXCEEDED',
  weekly_amount_limit: 'AMOUNT_LIMIT_EXCEEDED',
  monthly_amount_limit: 'AMOUNT_LIMIT_EXCEEDED',
  daily_count_limit: 'TRANSACTION_COUNT_LIMIT_EXCEEDED',
  weekly_count_limit: 'TRANSACTION_COUNT_LIMIT_EXCEEDED',
  monthly_count_limit: 'TRANSACTION_COUNT_LIMIT_EXCEEDED',
  balance_not_found: 'INSUFFICIENT_FUNDS',
  insufficient_funds: 'INSUFFICIENT_FUNDS',
  method_not_supported: 'TRANSACTION_NOT_PERMITTED',
  system_error: 'TRANSACTION_NOT_PERMITTED',
  timeout: 'TRANSACTION_NOT_PERMITTED',
} as const satisfies Record<string, DeclineReason>;
export type DeclineMemo = keyof typeof decline_memos;

export function declineReasonOf(memo: DeclineMemo): DeclineReason {
  return decline_memos[memo];
}
