import { describe, expect, it } from 'vitest';
import { classifyMethod, jit_methods, type MethodKind, methodAction } from '../src/index.ts';

// Every method named in shared/marqeta.md, with the kind the brief and the design give it.
const named_in_marqeta_md: Record<string, MethodKind> = {
  'pgfs.authorization': 'authorization',
  'pgfs.authorization.incremental': 'incremental',
  'pgfs.authorization.reversal': 'reversal',
  'pgfs.authorization.capture': 'clearing',
  'pgfs.authorization.clearing': 'clearing',
  'pgfs.authorization.advice': 'advice',
  'pgfs.auth_plus_capture': 'authorization',
  'pgfs.balanceinquiry': 'balance_inquiry',
  'pgfs.refund': 'refund',
  'pgfs.refund.authorization': 'notification',
  'pgfs.refund.authorization.reversal': 'notification',
  'pgfs.authorization.account_verification': 'account_verification',
  'pgfs.pindebit': 'authorization',
  'pgfs.pindebit.authorization': 'authorization',
  'pgfs.pindebit.atm.withdrawal': 'authorization',
  'pgfs.atm.withdrawal': 'authorization',
  'pgfs.authorization.quasi.cash': 'authorization',
  'pgfs.authorization.standin': 'advice',
  'pgfs.auth_plus_capture.standin': 'advice',
  'pgfs.force_capture': 'clearing',
};

// The whole jit_funding.method enum of Marqeta's Core API swagger.
const swagger_enum = [
  'pgfs.authorization',
  'pgfs.authorization.clearing',
  'pgfs.authorization.advice',
  'pgfs.authorization.incremental',
  'pgfs.authorization.capture',
  'pgfs.authorization.reversal',
  'pgfs.authorization.cashback',
  'pgfs.balanceinquiry',
  'pgfs.auth_plus_capture',
  'pgfs.refund',
  'pgfs.refund.authorization',
  'pgfs.refund.authorization.reversal',
  'pgfs.refund.authorization.clearing',
  'pgfs.force_capture',
  'pgfs.authorization.capture.chargeback',
  'pgfs.authorization.capture.chargeback.reversal',
  'pgfs.pindebit',
  'pgfs.pindebit.chargeback',
  'pgfs.pindebit.chargeback.reversal',
  'pgfs.pindebit.cashback',
  'pgfs.pindebit.refund',
  'pgfs.pindebit.authorization',
  'pgfs.pindebit.authorization.clearing',
  'pgfs.pindebit.authorization.reversal',
  'pgfs.pindebit.atm.withdrawal',
  'pgfs.pindebit.balanceinquiry',
  'pgfs.pindebit.quasi.cash',
  'pgfs.dispute.credit',
  'pgfs.dispute.debit',
  'pgfs.directdeposit.credit',
  'pgfs.directdeposit.debit',
  'pgfs.directdeposit.credit.reversal',
  'pgfs.directdeposit.debit.reversal',
  'pgfs.adjustment.credit',
  'pgfs.adjustment.debit',
  'pgfs.auth_plus_capture.standin',
  'pgfs.authorization.standin',
  'pgfs.network.load',
  'pgfs.original.credit.authorization',
  'pgfs.original.credit.auth_plus_capture',
  'pgfs.original.credit.authorization.clearing',
  'pgfs.original.credit.authorization.reversal',
  'pgfs.billpayment',
  'pgfs.billpayment.capture',
  'pgfs.billpayment.reversal',
  'pgfs.atm.withdrawal',
  'pgfs.atm.clearing.withdrawal',
  'pgfs.authorization.quasi.cash',
  'pgfs.authorization.clearing.quasi.cash',
  'pgfs.authorization.account_verification',
];

describe('classifyMethod', () => {
  it.each(Object.entries(named_in_marqeta_md))('%s is %s', (method, kind) => {
    expect(classifyMethod(method).kind).toBe(kind);
  });

  it('the table is exactly the swagger enum, every value classified', () => {
    expect(new Set(swagger_enum).size).toBe(50);
    expect(Object.keys(jit_methods).sort()).toEqual([...swagger_enum].sort());
    for (const method of swagger_enum) expect(classifyMethod(method).kind).not.toBe('unknown');
  });

  it('actionable methods are decided, informative ones applied', () => {
    const actions = Object.fromEntries(swagger_enum.map((m) => [m, methodAction(classifyMethod(m))]));
    for (const m of ['pgfs.authorization', 'pgfs.auth_plus_capture', 'pgfs.pindebit.balanceinquiry']) {
      expect(actions[m]).toBe('decide');
    }
    for (const m of ['pgfs.authorization.reversal', 'pgfs.authorization.clearing', 'pgfs.refund']) {
      expect(actions[m]).toBe('apply');
    }
    expect(actions['pgfs.authorization.standin']).toBe('apply');
    expect(actions['pgfs.refund.authorization']).toBe('acknowledge');
    expect(actions['pgfs.dispute.debit']).toBe('decline');
  });

  it('every money-out method is decided, applied as already happened, or declined; never just acknowledged', () => {
    for (const method of swagger_enum) {
      const info = classifyMethod(method);
      if (info.moves_money_out) expect(methodAction(info)).not.toBe('acknowledge');
    }
  });

  it('single-message methods are captured on expiry', () => {
    expect(classifyMethod('pgfs.auth_plus_capture').single_message).toBe(true);
    expect(classifyMethod('pgfs.auth_plus_capture.standin').single_message).toBe(true);
    expect(classifyMethod('pgfs.authorization').single_message).toBe(false);
    expect(classifyMethod('pgfs.pindebit.authorization').single_message).toBe(false);
  });

  it('unknown methods: declined unless the name plainly brings money in', () => {
    const cases: [string, 'decline' | 'acknowledge'][] = [
      ['pgfs.authorization.brand_new', 'decline'],
      ['pgfs.crypto.withdrawal', 'decline'],
      ['pgfs.loyalty.credit', 'acknowledge'],
      ['pgfs.instant.load', 'acknowledge'],
      ['pgfs.loyalty.credit.reversal', 'decline'],
      ['pgfs.refund.debit', 'decline'],
      ['', 'decline'],
      ['authorization', 'decline'],
    ];
    for (const [method, action] of cases) {
      const info = classifyMethod(method);
      expect(info.kind).toBe('unknown');
      expect(methodAction(info)).toBe(action);
    }
  });

  it('names of Object.prototype are not methods', () => {
    for (const method of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(classifyMethod(method).kind).toBe('unknown');
    }
  });
});
