import type { CardholderStatus } from './types.ts';

// Card and cardholder transitions: the rules the control plane applies when it asks Marqeta
// for a transition, and the webhooks consumer when Marqeta reports one. One place, so that a
// card moved through the API and one moved by Marqeta follow the same rules.

export const card_transition_states = ['ACTIVE', 'SUSPENDED', 'TERMINATED'] as const;
export type CardTransitionState = (typeof card_transition_states)[number];

export const local_card_state_of = {
  ACTIVE: 'active',
  SUSPENDED: 'suspended',
  TERMINATED: 'terminated',
} as const satisfies Record<CardTransitionState, string>;

export function isCardTransitionState(state: string): state is CardTransitionState {
  return (card_transition_states as readonly string[]).includes(state);
}

// 'same': already there. Only issued cards move (active or suspended; a card still being
// issued is the card issuer's); terminated is final, as it is at Marqeta.
export function cardTransitionCheck(from: string, to: CardTransitionState): 'move' | 'same' | 'illegal' {
  if (from === local_card_state_of[to]) return 'same';
  if (from === 'active' || from === 'suspended') return 'move';
  return 'illegal';
}

// Marqeta's user statuses as cardholder statuses. UNVERIFIED and LIMITED are absent: not ours
// to enforce (Marqeta itself decides what such a user may do before it calls the gateway).
const restriction_of_marqeta_status: Readonly<Record<string, CardholderStatus>> = {
  ACTIVE: 'active',
  SUSPENDED: 'suspended',
  CLOSED: 'closed',
  TERMINATED: 'closed',
};

// Our cardholder status for Marqeta's user status: undefined when it restricts nothing.
export function cardholderRestrictionOf(marqeta_status: string | null): CardholderStatus | undefined {
  if (marqeta_status === null) return undefined;
  return restriction_of_marqeta_status[marqeta_status];
}

const restrictiveness: Readonly<Record<CardholderStatus, number>> = { active: 0, suspended: 1, closed: 2 };

// A business cardholder has our status (the company's decision) and Marqeta's: a decision needs
// both to allow it, so the more restrictive one counts.
export function effectiveCardholderStatus(
  own: CardholderStatus,
  marqeta_status: string | null,
): CardholderStatus {
  const marqeta = cardholderRestrictionOf(marqeta_status) ?? 'active';
  return restrictiveness[marqeta] > restrictiveness[own] ? marqeta : own;
}
