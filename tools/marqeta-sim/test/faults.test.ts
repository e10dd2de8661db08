import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  basic,
  credentials,
  echo,
  provisionCard,
  type StartedSim,
  startSim,
  startTinyServer,
  type TinyServer,
} from './helpers.ts';

let started: StartedSim;
let gateway: TinyServer;

beforeAll(async () => {
  [started, gateway] = await Promise.all([startSim({ seed: 5 }), startTinyServer('/jit')]);
  gateway.answer = (seen) => ({ status: 200, body: echo(seen) });
});

afterAll(async () => {
  await Promise.all([started.sim.close(), gateway.close()]);
});

async function setFaults(change: Record<string, unknown>) {
  const answer = await started.api('POST', '/_sim/faults', change);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body.faults as Record<string, unknown>;
}

describe('fault knobs', () => {
  it('answers 429 with Retry-After and 500 on the Core API, while simulations keep flowing', async () => {
    const card = await provisionCard(started, gateway.url);
    expect(await setFaults({ core_429_rate: 1, retry_after_s: 7 })).toMatchObject({
      core_429_rate: 1,
      retry_after_s: 7,
    });
    const limited = await started.api('POST', '/v3/users', { token: 'u-limited' });
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('7');
    expect(limited.body.error_code).toMatch(/^429[0-9]{3}$/);
    expect(started.sim.state.users.has('u-limited')).toBe(false);
    const simulated = await started.api('POST', '/v3/simulate/authorization', {
      card_token: card.card_token,
      amount: 2,
    });
    expect(simulated.status).toBe(201);

    await setFaults({ core_429_rate: 0, core_error_rate: 1 });
    const failed = await started.api('GET', `/v3/cards/${card.card_token}`);
    expect(failed.status).toBe(500);
    expect(failed.body.error_code).toMatch(/^500[0-9]{3}$/);

    await setFaults({ core_error_rate: 0 });
    expect((await started.api('GET', `/v3/cards/${card.card_token}`)).status).toBe(200);
  });

  it('drops connections without an answer and without a change', async () => {
    await setFaults({ drop_connection_rate: 1 });
    const attempt = request(`${started.origin}/v3/users`, {
      method: 'POST',
      headers: {
        authorization: basic(credentials.application_token, credentials.admin_access_token),
        'content-type': 'application/json',
      },
      body: JSON.stringify({ token: 'u-dropped' }),
      headersTimeout: 5_000,
    });
    await expect(attempt).rejects.toMatchObject({
      code: expect.stringMatching(/^(UND_ERR_SOCKET|ECONNRESET)$/),
    });
    await setFaults({ drop_connection_rate: 0 });
    expect(started.sim.state.users.has('u-dropped')).toBe(false);
    expect((await started.api('GET', '/v3/users/u-dropped')).status).toBe(404);
  });

  it('adds JIT latency inside the funding source deadline: past it, the authorization times out', async () => {
    const card = await provisionCard(started, gateway.url, { timeout_millis: 30 });
    await setFaults({ jit_latency_ms: 5_000 });
    try {
      const answer = await started.api('POST', '/v3/simulate/authorization', {
        card_token: card.card_token,
        amount: 3,
      });
      const transaction = answer.body.transaction as {
        state: string;
        gpa_order: { funding: { gateway_log: unknown } };
      };
      expect(transaction.state).toBe('DECLINED');
      expect(transaction.gpa_order.funding.gateway_log).toMatchObject({ timed_out: true });
    } finally {
      await setFaults({ jit_latency_ms: 0 });
    }
  });

  it('validates knobs, accepts them at construction, and shows state without card numbers', async () => {
    expect((await started.api('POST', '/_sim/faults', { core_error_rate: 2 })).status).toBe(400);
    expect((await started.api('POST', '/_sim/faults', { unknown_knob: 1 })).status).toBe(400);
    const state = await started.api('GET', '/_sim/state');
    expect(state.status).toBe(200);
    expect(state.body).toMatchObject({ counts: { cards: 2 }, faults: { core_error_rate: 0 } });
    const shown = JSON.stringify(state.body);
    for (const { object } of started.sim.state.cards.values()) expect(shown).not.toContain(object.pan);

    const preset = await startSim({ faults: { core_429_rate: 1 } });
    try {
      expect((await preset.api('GET', '/v3/users/anyone')).status).toBe(429);
      expect((await preset.api('GET', '/_sim/faults')).status).toBe(200);
    } finally {
      await preset.sim.close();
    }
  });
});
