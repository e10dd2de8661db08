import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { WebhookReceived } from '../src/index.ts';

describe('webhook messages', () => {
  const message = {
    type: 'transactions',
    event: { token: 'txn-1', state: 'PENDING', amount: 10 },
    received_at: '2026-11-21T10:00:00.000Z',
  };

  it('accepts a received event with its fields untouched and refuses hostile tokens and types', () => {
    expect(Value.Check(WebhookReceived, message)).toBe(true);
    expect(Value.Check(WebhookReceived, { ...message, type: 'unknown.cardactions' })).toBe(true);
    expect(Value.Check(WebhookReceived, { ...message, type: 'Transactions' })).toBe(false);
    expect(Value.Check(WebhookReceived, { ...message, type: 'unknown.a.b' })).toBe(false);
    expect(Value.Check(WebhookReceived, { ...message, event: { token: '{0}:x' } })).toBe(false);
    expect(Value.Check(WebhookReceived, { ...message, event: { state: 'PENDING' } })).toBe(false);
    expect(Value.Check(WebhookReceived, { ...message, received_at: 'yesterday' })).toBe(false);
  });
});
