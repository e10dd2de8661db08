import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { CardIssueRequested } from '../src/index.ts';

describe('card issuance messages', () => {
  const command = {
    command_id: '2f1c7f0e-7c1b-4e8a-9a51-3d2c8d1e0b11',
    program: 'business',
    card_token: 'card-1',
    user_token: 'user-1',
    card_product_token: 'product-1',
    currency: 'USD',
    requested_at: '2026-11-21T10:00:00.000Z',
  };

  it('accepts a well-formed command and refuses hostile tokens and unknown programs', () => {
    expect(Value.Check(CardIssueRequested, command)).toBe(true);
    expect(Value.Check(CardIssueRequested, { ...command, card_token: '{0}:x' })).toBe(false);
    expect(Value.Check(CardIssueRequested, { ...command, program: 'gold' })).toBe(false);
    expect(Value.Check(CardIssueRequested, { ...command, card_token: 'x'.repeat(37) })).toBe(false);
  });
});
