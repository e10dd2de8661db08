import type { Balance, CardState, RefundMode, SimEvent, SimState, SpendingControls } from '@afc/domain';
import { holderOf, now_ms } from './helpers.ts';
import type { Scenario } from './sim-generators.ts';

// An explicit scenario for a unit case: the given cards (each with its cardholder, controls and
// wallet), and messages written out by hand. Run with expectSameAsDomain.
export interface ScenarioCard {
  readonly card: CardState;
  readonly controls?: SpendingControls;
  readonly balance?: Balance;
}

export function scenario(
  cards: readonly ScenarioCard[],
  events: readonly SimEvent[],
  refund_mode: RefundMode = 'counters_unchanged',
): Scenario {
  const initial: SimState = {
    cards: new Map(cards.map(({ card }) => [card.card_token, card])),
    cardholders: new Map(cards.map(({ card }) => [card.user_token, holderOf(card)])),
    controls: new Map(cards.flatMap(({ card, controls }) => (controls ? [[card.card_token, controls]] : []))),
    counters: new Map(),
    balances: new Map(cards.flatMap(({ card, balance }) => (balance ? [[card.user_token, balance]] : []))),
    holds: new Map(),
    decisions: new Map(),
    applied: new Set(),
    refund_mode,
  };
  return { initial, events, user_of: new Map(cards.map(({ card }) => [card.card_token, card.user_token])) };
}

let sequence = 0;
// One message: method, card, amount, then optional fields. jit tokens are unique per process.
export function message(
  method: string,
  card: CardState,
  amount_minor: number,
  extra: Partial<SimEvent> = {},
): SimEvent {
  sequence += 1;
  return {
    method,
    jit_token: `m${process.pid}-${sequence}`,
    card_token: card.card_token,
    amount_minor,
    currency: 'USD',
    mcc: '5411',
    mid: 'merchant-1',
    merchant_country: 'USA',
    now_ms,
    ...extra,
  };
}

export function linkedTo(auth: SimEvent, extra: Partial<SimEvent> = {}): Partial<SimEvent> {
  return { original_jit_token: auth.jit_token, ...extra };
}
