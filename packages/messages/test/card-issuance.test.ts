import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { CardIssued, CardIssueFailed, CardIssueRequested } from '../src/index.ts';

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

  it('card.issued carries the details Marqeta gave, never more; card.issue.failed the reason', () => {
    const issued = {
      event_id: 'card-1:issued',
      program: 'business',
      card_token: 'card-1',
      user_token: 'user-1',
      last_four: '4242',
      expiration_month: 11,
      expiration_year: 2030,
      issued_at: '2026-11-21T10:00:00.000Z',
    };
    expect(Value.Check(CardIssued, issued)).toBe(true);
    expect(Value.Check(CardIssued, { ...issued, last_four: '42424242' })).toBe(false);
    expect(Value.Check(CardIssued, { ...issued, expiration_month: 13 })).toBe(false);
    const failed = {
      event_id: `card-1:issue_failed:${command.command_id}`,
      program: 'personal',
      card_token: 'card-1',
      user_token: 'user-1',
      command_id: command.command_id,
      reason: 'Marqeta answered 404',
      marqeta_error_code: '404001',
      attempts: 1,
      failed_at: '2026-11-21T10:00:00.000Z',
    };
    expect(Value.Check(CardIssueFailed, failed)).toBe(true);
    expect(Value.Check(CardIssueFailed, { ...failed, reason: '' })).toBe(false);
    expect(Value.Check(CardIssueFailed, { ...failed, attempts: 0 })).toBe(false);
  });
});
