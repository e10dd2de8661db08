import { describe, expect, it } from 'vitest';
import { mixedBodyFactory, type TrafficCard } from '../src/jit-traffic.ts';

interface Sent {
  readonly token: string;
  readonly method: string;
  readonly amount: string;
  readonly original?: string;
  readonly card_token: string;
}

const cards: TrafficCard[] = [
  { card_token: 'card-a', user_token: 'user-a', per_transaction_limit_minor: 5_000 },
  { card_token: 'card-b', user_token: 'user-b', per_transaction_limit_minor: 100_000 },
];

function send(count: number, after_requests: number): Sent[] {
  const next = mixedBodyFactory({
    cards,
    token_prefix: 't',
    seed: 7,
    decline_share: 0.1,
    follow_ups: { reversal_share: 0.05, clearing_share: 0.1, after_requests },
  });
  return Array.from({ length: count }, () => {
    const body = JSON.parse(next());
    const jit = body.gpa_order.jit_funding;
    return {
      token: jit.token,
      method: jit.method,
      amount: jit.amount,
      original: jit.original_jit_funding_token,
      card_token: body.card_token,
    };
  });
}

const minor = (amount: string) => Math.round(Number(amount) * 100);

describe('mixedBodyFactory', () => {
  it('follows some authorizations, within their card limit, with a reversal or clearing of the whole amount later on', () => {
    const sent = send(3_000, 50);
    const by_token = new Map(sent.map((s, index) => [s.token, { ...s, index }]));
    const follow_ups = sent.filter((s) => s.method !== 'pgfs.authorization');
    const reversals = follow_ups.filter((s) => s.method === 'pgfs.authorization.reversal').length;
    expect(reversals).toBeGreaterThan(0);
    expect(follow_ups.length - reversals).toBeGreaterThan(reversals);
    expect(new Set(sent.map((s) => s.token)).size).toBe(sent.length);
    for (const [index, follow_up] of sent.entries()) {
      if (follow_up.method === 'pgfs.authorization') continue;
      const original = by_token.get(follow_up.original ?? '');
      expect(original?.method).toBe('pgfs.authorization');
      expect(index - (original?.index ?? index)).toBeGreaterThanOrEqual(50);
      expect(follow_up.amount).toBe(original?.amount);
      expect(follow_up.card_token).toBe(original?.card_token);
      const limit =
        cards.find((c) => c.card_token === original?.card_token)?.per_transaction_limit_minor ?? 0;
      expect(minor(follow_up.amount)).toBeLessThanOrEqual(limit);
    }
  });

  it('sends the same sequence for the same seed', () => {
    expect(send(300, 20)).toEqual(send(300, 20));
  });
});
