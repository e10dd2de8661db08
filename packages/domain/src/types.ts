// The data the rules read and write, exactly as Redis holds it per card and per cardholder.
// Plain JSON-able records, no classes: the Lua script decodes the same shapes with cjson.
// Money is integer minor units in the card's currency; time is milliseconds since the epoch
// (UTC), windows are days since 1970-01-01.

export const programs = ['business', 'personal'] as const;
export type Program = (typeof programs)[number];

// Only 'active' may spend; the others are the Marqeta lifecycle plus our issuance states.
export const card_statuses = ['active', 'suspended', 'terminated', 'requested', 'issuing', 'failed'] as const;
export type CardStatus = (typeof card_statuses)[number];

export const cardholder_statuses = ['active', 'suspended', 'closed'] as const;
export type CardholderStatus = (typeof cardholder_statuses)[number];

export interface CardState {
  readonly card_token: string;
  readonly user_token: string;
  readonly program: Program;
  readonly state: CardStatus;
  // Valid through the last day of this month, UTC.
  readonly expiration_year: number;
  readonly expiration_month: number;
  // ISO 4217 alpha-3, compared exactly: the adapter normalises case.
  readonly currency: string;
  // Bumped by the control plane on every write-through; the rules never read it.
  readonly version: number;
}

export interface Cardholder {
  readonly user_token: string;
  readonly program: Program;
  readonly status: CardholderStatus;
}

// An absent limit is no limit. An empty mcc_allow allows every MCC.
export interface SpendingControls {
  readonly per_transaction_limit_minor?: number;
  readonly daily_limit_minor?: number;
  readonly weekly_limit_minor?: number;
  readonly monthly_limit_minor?: number;
  readonly daily_count_limit?: number;
  readonly weekly_count_limit?: number;
  readonly monthly_count_limit?: number;
  readonly mcc_allow: readonly string[];
  readonly mcc_block: readonly string[];
  readonly blocked_merchant_ids: readonly string[];
  // ISO 3166 alpha-3, as Marqeta sends card_acceptor.country_code.
  readonly blocked_countries: readonly string[];
}

export interface WindowStarts {
  readonly day: number;
  readonly week: number;
  readonly month: number;
}

export interface WindowCounter {
  // Days since 1970-01-01 of the window's first day.
  readonly start: number;
  readonly amount_minor: number;
  readonly count: number;
}

export interface WindowCounters {
  readonly day: WindowCounter;
  readonly week: WindowCounter;
  readonly month: WindowCounter;
}

// A personal cardholder's wallet, already converted to the card currency. Ledger = available + held.
export interface Balance {
  readonly available_minor: number;
  readonly held_minor: number;
}

export interface BalanceDelta {
  readonly available_minor: number;
  readonly held_minor: number;
}

// What one approval counted, and in which windows. The same amount counts in all three windows.
// As a delta (CounterDelta) the numbers are signed: positive counts, negative gives back.
export interface Counted {
  readonly day_start: number;
  readonly week_start: number;
  readonly month_start: number;
  readonly amount_minor: number;
  readonly count: number;
}

export type CounterDelta = Counted;

// What happens to money still held when Marqeta never tells us how the authorization ended.
export const expiry_actions = ['release', 'capture'] as const;
export type ExpiryAction = (typeof expiry_actions)[number];

// One authorization and its incrementals, keyed by the first JIT token (Marqeta links the
// later messages to it with original_jit_funding_token).
export interface Hold {
  readonly jit_token: string;
  readonly card_token: string;
  readonly user_token: string;
  readonly program: Program;
  // Still held: authorized - released - captured.
  readonly amount_minor: number;
  // Everything ever approved into this hold (original, incrementals, advice increases), plus
  // what clearings took beyond what it held (a tip; a purchase cleared after a full release).
  readonly authorized_minor: number;
  readonly released_minor: number;
  // Everything cleared of this purchase, beyond the hold included.
  readonly captured_minor: number;
  readonly on_expiry: ExpiryAction;
  // What Marqeta's reversals took beyond what this hold held: absent is 0. Marqeta stood in and
  // its reversal reached us before its advice: the advice then holds that much less.
  readonly reversed_beyond_minor?: number;
  // What the hold counted and has not given back yet, oldest first. The amounts sum to
  // amount_minor; one entry per distinct set of windows (an incremental on another day adds one).
  readonly counted: readonly Counted[];
}
