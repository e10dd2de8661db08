import { describe, expect, it } from 'vitest';
import {
  card_transition_states,
  cardholderRestrictionOf,
  cardTransitionCheck,
  effectiveCardholderStatus,
  isCardTransitionState,
} from '../src/index.ts';

describe('card transitions', () => {
  it('moves issued cards only, never out of terminated', () => {
    expect(cardTransitionCheck('active', 'SUSPENDED')).toBe('move');
    expect(cardTransitionCheck('suspended', 'ACTIVE')).toBe('move');
    expect(cardTransitionCheck('suspended', 'TERMINATED')).toBe('move');
    expect(cardTransitionCheck('suspended', 'SUSPENDED')).toBe('same');
    expect(cardTransitionCheck('terminated', 'TERMINATED')).toBe('same');
    for (const to of card_transition_states) {
      expect(cardTransitionCheck('requested', to)).toBe('illegal');
      expect(cardTransitionCheck('unactivated', to)).toBe('illegal');
    }
    expect(cardTransitionCheck('terminated', 'ACTIVE')).toBe('illegal');
  });

  it('knows the states a transition can target', () => {
    expect(isCardTransitionState('SUSPENDED')).toBe(true);
    expect(isCardTransitionState('UNACTIVATED')).toBe(false);
  });
});

describe('cardholder status with Marqeta', () => {
  it('maps the restricting statuses and leaves the others alone', () => {
    expect(cardholderRestrictionOf('SUSPENDED')).toBe('suspended');
    expect(cardholderRestrictionOf('CLOSED')).toBe('closed');
    expect(cardholderRestrictionOf('TERMINATED')).toBe('closed');
    expect(cardholderRestrictionOf('ACTIVE')).toBe('active');
    expect(cardholderRestrictionOf('UNVERIFIED')).toBeUndefined();
    expect(cardholderRestrictionOf('LIMITED')).toBeUndefined();
    expect(cardholderRestrictionOf(null)).toBeUndefined();
  });

  it('takes the more restrictive of ours and Marqeta', () => {
    expect(effectiveCardholderStatus('active', null)).toBe('active');
    expect(effectiveCardholderStatus('active', 'ACTIVE')).toBe('active');
    expect(effectiveCardholderStatus('active', 'SUSPENDED')).toBe('suspended');
    expect(effectiveCardholderStatus('suspended', 'ACTIVE')).toBe('suspended');
    expect(effectiveCardholderStatus('suspended', 'CLOSED')).toBe('closed');
    expect(effectiveCardholderStatus('closed', 'SUSPENDED')).toBe('closed');
    expect(effectiveCardholderStatus('active', 'LIMITED')).toBe('active');
  });
});
