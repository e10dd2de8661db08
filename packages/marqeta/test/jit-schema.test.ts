import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { buildJitRequest, JitFundingRequest, JitFundingResponse, jitFundingOf } from '../src/index.ts';

const base = {
  transaction_token: 'txn-1',
  jit_token: 'jit-1',
  method: 'pgfs.authorization',
  card_token: 'card-1',
  user_token: 'user-1',
  amount: 1.91,
};

describe('JIT funding schemas', () => {
  it('accepts a realistic Marqeta request of about 1.5 KB and finds its funding part', () => {
    const request = buildJitRequest(base);
    expect(Value.Check(JitFundingRequest, request)).toBe(true);
    expect(JSON.stringify(request).length).toBeGreaterThan(1300);
    expect(jitFundingOf(request)?.token).toBe('jit-1');
  });

  it('tolerates fields it does not know', () => {
    const request = { ...buildJitRequest(base), brand_new_field: { nested: true } };
    expect(Value.Check(JitFundingRequest, request)).toBe(true);
  });

  it('rejects tokens that could forge a Redis hash tag or key', () => {
    for (const card_token of ['card{1}', 'a:b', '', 'x'.repeat(101), 'card 1']) {
      expect(Value.Check(JitFundingRequest, { ...buildJitRequest(base), card_token })).toBe(false);
    }
  });

  it('rejects mistyped amounts and MCCs', () => {
    const request = buildJitRequest(base);
    const bad_amount = structuredClone(request) as Record<string, unknown> & typeof request;
    (bad_amount.gpa_order as { jit_funding: { amount: unknown } }).jit_funding.amount = { value: 1 };
    expect(Value.Check(JitFundingRequest, bad_amount)).toBe(false);
    expect(Value.Check(JitFundingRequest, buildJitRequest({ ...base, mcc: '54' }))).toBe(false);
  });

  it('finds no funding part when both gpa_order and gpa_order_unload carry one', () => {
    const request = buildJitRequest(base);
    const funding = request.gpa_order;
    expect(funding).toBeDefined();
    if (funding === undefined) return;
    expect(jitFundingOf({ ...request, gpa_order_unload: funding })).toBeUndefined();
    const { gpa_order: _, ...neither } = request;
    expect(jitFundingOf(neither)).toBeUndefined();
    expect(jitFundingOf({ ...neither, gpa_order_unload: funding })?.token).toBe('jit-1');
  });

  it('describes both answers, amount as number or string', () => {
    const approve = {
      jit_funding: { token: 'jit-1', method: 'pgfs.authorization', user_token: 'u', amount: 1.91 },
    };
    const decline = {
      jit_funding: {
        ...approve.jit_funding,
        amount: '1.00',
        decline_reason: 'INVALID_CARD',
        memo: 'card_unknown',
      },
    };
    expect(Value.Check(JitFundingResponse, approve)).toBe(true);
    expect(Value.Check(JitFundingResponse, decline)).toBe(true);
  });
});
