import type { Cardholder, CardState, DecisionInput, SpendingControls, WindowCounters } from '../src/index.ts';
import { currentCounters } from '../src/index.ts';

// Monday 2024-03-11 09:00 UTC.
export const now_ms = Date.parse('2024-03-11T09:00:00Z');
export const day_ms = 86_400_000;

export const business_card: CardState = {
  card_token: 'card-b',
  user_token: 'user-b',
  program: 'business',
  state: 'active',
  expiration_year: 2027,
  expiration_month: 6,
  currency: 'USD',
  version: 3,
};

export const business_holder: Cardholder = { user_token: 'user-b', program: 'business', status: 'active' };

export const personal_card: CardState = {
  ...business_card,
  card_token: 'card-p',
  user_token: 'user-p',
  program: 'personal',
};

export const personal_holder: Cardholder = { user_token: 'user-p', program: 'personal', status: 'active' };

export const open_controls: SpendingControls = {
  mcc_allow: [],
  mcc_block: [],
  blocked_merchant_ids: [],
  blocked_countries: [],
};

export function zeroCounters(at_ms = now_ms): WindowCounters {
  return currentCounters(undefined, at_ms);
}

export type Draft = { -readonly [K in keyof DecisionInput]: DecisionInput[K] };

export function authorization(overrides: Partial<Draft> = {}): Draft {
  return {
    kind: 'authorization',
    jit_token: 'jit-1',
    amount_minor: 1_000,
    currency: 'USD',
    mcc: '5411',
    mid: 'merchant-1',
    merchant_country: 'USA',
    now_ms,
    card: business_card,
    cardholder: business_holder,
    controls: open_controls,
    counters: zeroCounters(),
    ...overrides,
  };
}
