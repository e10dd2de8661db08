import { JitFundingRequest } from '@afc/marqeta';
import { Value } from '@sinclair/typebox/value';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  basic,
  echo,
  gateway_auth,
  jitOf,
  provisionCard,
  type StartedSim,
  startSim,
  startTinyServer,
  type TinyServer,
} from './helpers.ts';

let started: StartedSim;
let gateway: TinyServer;
let card: Awaited<ReturnType<typeof provisionCard>>;

type Txn = Record<string, unknown> & {
  gpa_order: Record<string, unknown> & { jit_funding: Record<string, unknown> };
};

beforeAll(async () => {
  [started, gateway] = await Promise.all([startSim({ seed: 11 }), startTinyServer('/jit')]);
  card = await provisionCard(started, gateway.url);
});

beforeEach(() => {
  gateway.answer = (seen) => ({ status: 200, body: echo(seen) });
});

afterAll(async () => {
  await Promise.all([started.sim.close(), gateway.close()]);
});

async function simulate(path: string, body: Record<string, unknown>): Promise<Txn> {
  const answer = await started.api('POST', `/v3/simulate/${path}`, body);
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return answer.body.transaction as Txn;
}

function lastGatewayLog() {
  return started.sim.state.gateway_logs.at(-1)?.gateway_log;
}

describe('simulated authorizations call the JIT gateway', () => {
  it('sends a schema-valid JIT request with Basic auth and the custom header; a 200 echo approves', async () => {
    const before = gateway.seen.length;
    const transaction = await simulate('authorization', {
      card_token: card.card_token,
      amount: 12.5,
      mid: '123456789012345',
      currency_code: 'USD',
      card_acceptor: { mcc: '5812', name: 'Chez Test', country_code: 'USA' },
    });
    expect(gateway.seen).toHaveLength(before + 1);
    const seen = gateway.seen.at(-1);
    expect(seen?.headers.authorization).toBe(basic(gateway_auth.username, gateway_auth.password));
    expect(seen?.headers['x-program']).toBe('afc');
    expect(Value.Check(JitFundingRequest, seen?.body)).toBe(true);
    expect(seen?.raw.length).toBeGreaterThan(1200);
    expect(seen?.body).toMatchObject({
      type: 'authorization',
      card_token: card.card_token,
      user_token: card.user_token,
      amount: 12.5,
      currency_code: 'USD',
      card_acceptor: { mid: '123456789012345', mcc: '5812', name: 'Chez Test', country_code: 'USA' },
      gpa_order: { jit_funding: { method: 'pgfs.authorization', user_token: card.user_token, amount: 12.5 } },
    });
    expect(JSON.stringify(seen?.body)).not.toMatch(/"pan"|"cvv_number"/);

    expect(transaction.state).toBe('PENDING');
    expect(transaction.response).toEqual({ code: '0000', memo: 'Approved' });
    expect(transaction.gpa_order.jit_funding.token).toBe(jitOf(seen).token);
    expect(transaction.gpa_order.funding).toMatchObject({
      gateway_log: { timed_out: false, response: { code: '200' } },
    });
    expect(started.sim.state.transactions.get(String(transaction.token))?.state).toBe('PENDING');
  });

  it('keeps a decimal-string amount a string all the way to the gateway', async () => {
    await simulate('authorization', { card_token: card.card_token, amount: '7.10', currency_code: 'USD' });
    expect(jitOf(gateway.seen.at(-1)).amount).toBe('7.10');
  });

  it('declines with the gateway reason on 402 and passes its memo on', async () => {
    gateway.answer = (seen) => ({
      status: 402,
      body: echo(seen, { decline_reason: 'INSUFFICIENT_FUNDS', memo: 'balance_low' }),
    });
    const transaction = await simulate('authorization', { card_token: card.card_token, amount: 900 });
    expect(transaction.state).toBe('DECLINED');
    expect(transaction.response).toMatchObject({ code: '1884' });
    expect(transaction.gpa_order.jit_funding).toMatchObject({
      decline_reason: 'INSUFFICIENT_FUNDS',
      memo: 'balance_low',
    });
    expect(lastGatewayLog()).toMatchObject({ timed_out: false, response: { code: '402' } });
  });

  it('declines on a garbage answer, a 200 that echoes another token, and a 500', async () => {
    const answers = [
      { status: 200, body: 'approved!!' },
      { status: 200, body: JSON.stringify({ jit_funding: { token: 'someone-else', amount: 1 } }) },
      { status: 500, body: '{}' },
    ];
    for (const answer of answers) {
      gateway.answer = () => answer;
      const transaction = await simulate('authorization', { card_token: card.card_token, amount: 3 });
      expect(transaction.state, answer.body).toBe('DECLINED');
      expect(lastGatewayLog()?.timed_out).toBe(false);
    }
  });

  it('declines with timed_out true when the gateway never answers within timeout_millis', async () => {
    const slow = await provisionCard(started, gateway.url, { timeout_millis: 50 });
    gateway.answer = () => 'hang';
    const transaction = await simulate('authorization', { card_token: slow.card_token, amount: 20 });
    expect(transaction.state).toBe('DECLINED');
    expect(transaction.gpa_order.funding).toMatchObject({ gateway_log: { timed_out: true } });
    expect(transaction.gpa_order.funding).not.toHaveProperty('gateway_log.response');
  });

  it('declines without asking the gateway when the card is suspended', async () => {
    const other = await provisionCard(started, gateway.url);
    await started.api('POST', '/v3/cardtransitions', {
      card_token: other.card_token,
      channel: 'API',
      state: 'SUSPENDED',
    });
    const before = gateway.seen.length;
    const transaction = await simulate('authorization', { card_token: other.card_token, amount: 5 });
    expect(transaction.state).toBe('DECLINED');
    expect(transaction.response).toMatchObject({ code: '1003' });
    expect(gateway.seen).toHaveLength(before);
  });
});

describe('follow-ups reference the original', () => {
  it('clears several times with different amounts, then reverses, each linked to the authorization', async () => {
    const auth = await simulate('authorization', {
      card_token: card.card_token,
      amount: 40,
      currency_code: 'USD',
    });
    const auth_jit = String(auth.gpa_order.jit_funding.token);
    const incremental = await simulate('authorization/incremental', {
      original_transaction_token: auth.token,
      amount: 5,
    });
    expect(incremental).toMatchObject({ type: 'authorization.incremental', state: 'PENDING' });
    expect(incremental.gpa_order.jit_funding).toMatchObject({
      method: 'pgfs.authorization.incremental',
      original_jit_funding_token: auth_jit,
    });
    const first = await simulate('clearing', { original_transaction_token: auth.token, amount: 30 });
    const second = await simulate('clearing', { original_transaction_token: auth.token, amount: 12.25 });
    for (const clearing of [first, second]) {
      expect(clearing).toMatchObject({
        type: 'authorization.clearing',
        state: 'COMPLETION',
        preceding_related_transaction_token: auth.token,
        card_acceptor: auth.card_acceptor,
      });
      expect(clearing.gpa_order.jit_funding).toMatchObject({
        method: 'pgfs.authorization.clearing',
        original_jit_funding_token: auth_jit,
        incremental_authorization_jit_funding_tokens: [incremental.gpa_order.jit_funding.token],
      });
    }
    expect(second.gpa_order.jit_funding.amount).toBe(12.25);
    // Informative: the state follows the simulation even when the gateway answers garbage.
    gateway.answer = () => ({ status: 500, body: 'down' });
    const reversal = await simulate('reversal', { original_transaction_token: auth.token });
    expect(reversal).toMatchObject({ type: 'authorization.reversal', state: 'CLEARED' });
    expect(reversal.gpa_order.jit_funding).toMatchObject({
      method: 'pgfs.authorization.reversal',
      original_jit_funding_token: auth_jit,
      amount: 40,
    });
    const methods = gateway.seen
      .slice(-4)
      .map((seen) => (seen.body.gpa_order as Txn['gpa_order']).jit_funding.method);
    expect(methods).toEqual([
      'pgfs.authorization.incremental',
      'pgfs.authorization.clearing',
      'pgfs.authorization.clearing',
      'pgfs.authorization.reversal',
    ]);
  });

  it('sends refunds, advices and balance inquiries with their methods; refuses unknown originals', async () => {
    const auth = await simulate('authorization', { card_token: card.card_token, amount: 10 });
    const advice = await simulate('authorization/advice', {
      original_transaction_token: auth.token,
      amount: 9,
    });
    expect(advice.gpa_order.jit_funding.method).toBe('pgfs.authorization.advice');
    const refund = await simulate('refund', { original_transaction_token: auth.token, amount: 4 });
    expect(refund).toMatchObject({ type: 'refund', preceding_related_transaction_token: auth.token });
    const loose_refund = await simulate('refund', { card_token: card.card_token, amount: 2 });
    expect(loose_refund.gpa_order.jit_funding.method).toBe('pgfs.refund');
    gateway.answer = (seen) => ({
      status: 200,
      body: echo(seen, {
        balances: { USD: { currency_code: 'USD', available_balance: 5, ledger_balance: 5 } },
      }),
    });
    const inquiry = await simulate('balanceinquiry', { card_token: card.card_token, currency_code: 'USD' });
    expect(inquiry).toMatchObject({ type: 'balanceinquiry', state: 'COMPLETION' });
    expect(inquiry.gpa_order.jit_funding).toMatchObject({
      method: 'pgfs.balanceinquiry',
      balances: { USD: { available_balance: 5 } },
    });
    const unknown = await started.api('POST', '/v3/simulate/clearing', {
      original_transaction_token: 'nope',
      amount: 1,
    });
    expect(unknown.status).toBe(404);
    gateway.answer = (seen) => ({ status: 402, body: echo(seen, { decline_reason: 'SUSPECTED_FRAUD' }) });
    const declined = await simulate('authorization', { card_token: card.card_token, amount: 1 });
    const clearing_declined = await started.api('POST', '/v3/simulate/clearing', {
      original_transaction_token: declined.token,
      amount: 1,
    });
    expect(clearing_declined.status).toBe(400);
  });
});

describe('amounts', () => {
  it('refuses amounts the currency cannot carry, negative amounts and unknown currencies', async () => {
    const before = gateway.seen.length;
    for (const body of [
      { amount: 1.5, currency_code: 'JPY' },
      { amount: -3, currency_code: 'USD' },
      { amount: '1e3', currency_code: 'USD' },
      { amount: 1, currency_code: 'XYZ' },
    ]) {
      const answer = await started.api('POST', '/v3/simulate/authorization', {
        card_token: card.card_token,
        ...body,
      });
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error_code).toMatch(/^400[0-9]{3}$/);
    }
    expect(gateway.seen).toHaveLength(before);
    const yen = await simulate('authorization', {
      card_token: card.card_token,
      amount: 1500,
      currency_code: 'JPY',
    });
    expect(yen).toMatchObject({ state: 'PENDING', currency_code: 'JPY', amount: 1500 });
  });
});

describe('generated traffic', () => {
  it('is varied yet the same for the same seed, and fits each currency', async () => {
    const draw = async (seed: number) => {
      const other = await startSim({ seed });
      try {
        const target = await provisionCard(other, gateway.url);
        const seen: Array<Record<string, unknown>> = [];
        for (let i = 0; i < 6; i += 1) {
          const answer = await other.api('POST', '/v3/simulate/authorization', {
            card_token: target.card_token,
            amount: 12.34,
          });
          const transaction = answer.body.transaction as Txn;
          seen.push({
            merchant: transaction.card_acceptor,
            currency: transaction.currency_code,
            pos: transaction.pos,
            network: transaction.network,
          });
        }
        return seen;
      } finally {
        await other.sim.close();
      }
    };
    const [a, b] = [await draw(5), await draw(5)];
    expect(a).toEqual(b);
    expect(new Set(a.map((entry) => JSON.stringify(entry.merchant))).size).toBeGreaterThan(1);
    // 12.34 cannot be a JPY amount: the draw never picks a JPY merchant for it.
    expect(a.map((entry) => entry.currency)).not.toContain('JPY');
  });
});
