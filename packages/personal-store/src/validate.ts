import { PersonalInvalidInputError } from './errors.ts';
import {
  type AwaitingIssueCursor,
  type CardState,
  type CreateCardInput,
  type CreateUserInput,
  type CreditDepositInput,
  card_states,
  type IssuedCardDetails,
  type KycStatus,
  kyc_statuses,
  type LedgerEventInput,
  type PageRequest,
  type TransactionEventInput,
  transaction_states,
  type UpdateUserInput,
  type UserStatus,
  user_statuses,
} from './types.ts';

// Both backends validate with the same functions before touching data, so a bad argument
// fails the same way on either and never leaves a partial write.

const token_pattern = /^[\x21-\x7e]{1,100}$/;
const currency_pattern = /^[A-Z]{3}$/;
const decimal_pattern = /^[0-9]{1,30}(\.[0-9]{1,30})?$/;

export const default_page_limit = 20;
export const max_page_limit = 100;
// A person holds a handful of cards; the bound only keeps a runaway list from being unbounded.
export const max_cards_listed = 1_000;

function fail(message: string): never {
  throw new PersonalInvalidInputError(message);
}

export function checkToken(name: string, value: string): void {
  if (typeof value !== 'string' || !token_pattern.test(value))
    fail(`${name} must be 1-100 printable characters`);
}

function checkCurrency(name: string, value: string): void {
  if (typeof value !== 'string' || !currency_pattern.test(value)) fail(`${name} must be an ISO 4217 code`);
}

function checkMinor(name: string, value: number, minimum: number): void {
  if (!Number.isSafeInteger(value) || value < minimum) fail(`${name} must be a safe integer >= ${minimum}`);
}

function checkOneOf<T extends string>(name: string, value: T, allowed: readonly string[]): void {
  if (!allowed.includes(value)) fail(`${name} must be one of ${allowed.join(', ')}`);
}

function checkText(name: string, value: string, max_length: number): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > max_length) {
    fail(`${name} must be 1-${max_length} characters`);
  }
}

export function validateCreateUser(input: CreateUserInput): void {
  checkToken('user_token', input.user_token);
  checkText('email', input.email, 254);
  if (!input.email.includes('@')) fail('email must contain @');
  checkText('wallet_address', input.wallet_address, 200);
  checkCurrency('currency', input.currency);
  if (input.kyc_status !== undefined) checkKycStatus(input.kyc_status);
  if (input.status !== undefined) checkUserStatus(input.status);
}

export function checkKycStatus(value: KycStatus): void {
  checkOneOf('kyc_status', value, kyc_statuses);
}

export function checkUserStatus(value: UserStatus): void {
  checkOneOf('status', value, user_statuses);
}

export function validateUpdateUser(user_token: string, input: UpdateUserInput): void {
  checkToken('user_token', user_token);
  if (input.kyc_status === undefined && input.status === undefined) fail('nothing to update');
  if (input.kyc_status !== undefined) checkKycStatus(input.kyc_status);
  if (input.status !== undefined) checkUserStatus(input.status);
}

export function validateDeposit(input: CreditDepositInput): void {
  checkToken('deposit_id', input.deposit_id);
  checkToken('user_token', input.user_token);
  checkText('crypto_currency', input.crypto_currency, 20);
  if (!decimal_pattern.test(input.crypto_amount)) fail('crypto_amount must be decimal text');
  if (!decimal_pattern.test(input.rate)) fail('rate must be decimal text');
  checkMinor('credited_minor', input.credited_minor, 1);
  checkCurrency('currency', input.currency);
}

export function checkCardState(value: CardState): void {
  checkOneOf('state', value, card_states);
}

export function validateCreateCard(input: CreateCardInput): void {
  checkToken('card_token', input.card_token);
  checkToken('user_token', input.user_token);
  checkCardState(input.state);
  checkCurrency('currency', input.currency);
  checkIssuedDetails(input);
  if (input.card_product_token !== undefined) checkToken('card_product_token', input.card_product_token);
  // A failed card always carries its reason: only recordCardIssueFailed makes one.
  if (input.state === 'failed') fail("a card is created in a state other than 'failed'");
}

export function checkIssuedDetails(input: IssuedCardDetails): void {
  if (
    !Number.isInteger(input.expiration_month) ||
    input.expiration_month < 1 ||
    input.expiration_month > 12
  ) {
    fail('expiration_month must be 1-12');
  }
  if (
    !Number.isInteger(input.expiration_year) ||
    input.expiration_year < 2000 ||
    input.expiration_year > 2200
  ) {
    fail('expiration_year must be 2000-2200');
  }
  if (typeof input.last_four !== 'string' || !/^[0-9]{4}$/.test(input.last_four))
    fail('last_four must be four digits');
}

export function checkSettableCardState(value: CardState): void {
  checkCardState(value);
  if (value === 'failed') fail("'failed' is recorded with recordCardIssueFailed (it needs a reason)");
}

export function checkDate(name: string, value: Date): void {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) fail(`${name} must be a valid Date`);
}

export function checkFailureReason(reason: string): void {
  checkText('reason', reason, 500);
}

export function checkAwaitingIssueQuery(
  created_before: Date,
  limit: number,
  after: AwaitingIssueCursor | undefined,
): void {
  checkDate('created_before', created_before);
  if (!Number.isInteger(limit) || limit < 1 || limit > max_page_limit)
    fail(`limit must be 1-${max_page_limit}`);
  if (after === undefined) return;
  checkDate('after.created_at', after.created_at);
  checkToken('after.card_token', after.card_token);
}

// Internal scans (settlement's sweep and rebuild) read bigger pages than the public listings.
export const max_scan_limit = 1_000;

function checkScanLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > max_scan_limit)
    fail(`limit must be 1-${max_scan_limit}`);
}

export function checkExpiredHoldsQuery(now: Date, limit: number): void {
  checkDate('now', now);
  checkScanLimit(limit);
}

// '' starts the scan; anything else is a token the previous page ended on.
export function checkScanPage(name: string, after: string, limit: number): void {
  if (after !== '') checkToken(name, after);
  checkScanLimit(limit);
}

export function validateTransactionEvent(input: TransactionEventInput): void {
  checkToken('event_id', input.event_id);
  checkToken('jit_token', input.jit_token);
  checkToken('card_token', input.card_token);
  checkToken('user_token', input.user_token);
  checkCurrency('currency', input.currency);
  checkOneOf('state', input.state, transaction_states);
  checkDate('occurred_at', input.occurred_at);
  for (const key of ['authorized_minor', 'cleared_minor', 'reversed_minor', 'refunded_minor'] as const) {
    const value = input[key];
    if (value !== undefined) checkMinor(key, value, 0);
  }
  for (const [key, value] of Object.entries(input.merchant ?? {})) {
    if (value !== null && value !== undefined) checkText(`merchant.${key}`, value, 200);
  }
}

export function validateLedgerEvent(input: LedgerEventInput): void {
  checkToken('event_id', input.event_id);
  checkToken('jit_token', input.jit_token);
  checkToken('card_token', input.card_token);
  checkToken('user_token', input.user_token);
  checkCurrency('currency', input.currency);
  checkDate('occurred_at', input.occurred_at);
  if (typeof input.kind !== 'string' || !/^[a-z][a-z0-9_.]{0,99}$/.test(input.kind)) fail('kind');
  for (const key of [
    'amount_minor',
    'authorized_minor',
    'cleared_minor',
    'reversed_minor',
    'refunded_minor',
  ] as const) {
    checkMinor(key, input[key], 0);
  }
  if (typeof input.details !== 'object' || input.details === null || Array.isArray(input.details)) {
    fail('details must be an object');
  }
  checkMinor('balance_delta.available_minor', input.balance_delta.available_minor, -Number.MAX_SAFE_INTEGER);
  checkMinor('balance_delta.held_minor', input.balance_delta.held_minor, -Number.MAX_SAFE_INTEGER);
}

export function pageLimit(page: PageRequest | undefined): number {
  const limit = page?.limit ?? default_page_limit;
  if (!Number.isInteger(limit) || limit < 1 || limit > max_page_limit) {
    fail(`limit must be 1-${max_page_limit}`);
  }
  return limit;
}
