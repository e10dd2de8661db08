import type { SeededRandom } from './random.ts';
import type { CardObject, CardState } from './state.ts';

// A fake Visa PAN on the well-known test BIN 411111, with a valid Luhn check digit. It lives
// only in memory and in answers that ask for it with show_pan: it is never logged.
export function fakePan(random: SeededRandom): string {
  const body = `411111${random.digits(9)}`;
  return `${body}${luhnCheckDigit(body)}`;
}

export function luhnCheckDigit(digits: string): number {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    // Doubling starts at the rightmost digit of the body (it sits left of the check digit).
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return (10 - (sum % 10)) % 10;
}

// Cards expire at the end of the month four years on ("MMYY" as Marqeta shows it).
export function expiration(now: Date): { readonly expiration: string; readonly expiration_time: string } {
  const year = now.getUTCFullYear() + 4;
  const month = now.getUTCMonth() + 1;
  const last_day = new Date(Date.UTC(year, month, 0, 23, 59, 59));
  return {
    expiration: `${String(month).padStart(2, '0')}${String(year % 100).padStart(2, '0')}`,
    expiration_time: `${last_day.toISOString().slice(0, 19)}Z`,
  };
}

export interface NewCard {
  readonly token: string;
  readonly user_token: string;
  readonly card_product_token: string;
  readonly state: CardState;
  readonly extra: Record<string, unknown>;
  readonly now: string;
}

export function buildCard(card: NewCard, random: SeededRandom): CardObject {
  const pan = fakePan(random);
  return {
    ...card.extra,
    token: card.token,
    user_token: card.user_token,
    card_product_token: card.card_product_token,
    pan,
    cvv_number: random.digits(3),
    last_four: pan.slice(-4),
    ...expiration(new Date()),
    barcode: random.digits(20),
    pin_is_set: false,
    state: card.state,
    state_reason: 'New card',
    fulfillment_status: 'ISSUED',
    instrument_type: 'VIRTUAL_PAN',
    expedite: false,
    created_time: card.now,
    last_modified_time: card.now,
  };
}

const legal_transitions: Readonly<Record<CardState, readonly CardState[]>> = {
  UNACTIVATED: ['ACTIVE', 'SUSPENDED', 'TERMINATED'],
  ACTIVE: ['SUSPENDED', 'TERMINATED'],
  SUSPENDED: ['ACTIVE', 'TERMINATED'],
  TERMINATED: [],
};

export function isLegalCardTransition(from: CardState, to: CardState): boolean {
  return legal_transitions[from].includes(to);
}

// The transition's type as Marqeta names it in cardtransition events.
export function cardTransitionType(from: CardState, to: CardState): string {
  if (to === 'ACTIVE') return from === 'SUSPENDED' ? 'state.reinstated' : 'state.activated';
  if (to === 'SUSPENDED') return 'state.suspended';
  return 'state.terminated';
}
