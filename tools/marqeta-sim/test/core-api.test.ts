import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, gateway_auth, type StartedSim, startSim } from './helpers.ts';

let started: StartedSim;

beforeAll(async () => {
  started = await startSim({ seed: 7 });
  const { api } = started;
  await api('POST', '/v3/users', { token: 'u-core', first_name: 'Grace' });
  await api('POST', '/v3/fundingsources/programgateway', {
    token: 'pgfs-core',
    name: 'authorizer',
    url: 'http://127.0.0.1:9/jit',
    basic_auth_username: gateway_auth.username,
    basic_auth_password: gateway_auth.password,
  });
  await api('POST', '/v3/cardproducts', {
    token: 'product-core',
    name: 'Core product',
    start_date: '2026-01-01',
    config: {
      jit_funding: { programgateway_funding_source: { funding_source_token: 'pgfs-core', enabled: true } },
    },
  });
});

afterAll(async () => {
  await started.sim.close();
});

describe('Core API resources', () => {
  it('creates a card once: a repeat answers 201 with the same object, other content is a 409', async () => {
    const request = { token: 'card-idem', user_token: 'u-core', card_product_token: 'product-core' };
    const first = await started.api('POST', '/v3/cards', request);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ token: 'card-idem', state: 'UNACTIVATED', user_token: 'u-core' });
    expect(first.body.last_four).toMatch(/^[0-9]{4}$/);
    expect(first.body.expiration).toMatch(/^(0[1-9]|1[0-2])[0-9]{2}$/);
    expect(first.body).not.toHaveProperty('pan');
    expect(first.body).not.toHaveProperty('cvv_number');

    // Same content in another key order is the same request.
    const reordered = { card_product_token: 'product-core', user_token: 'u-core', token: 'card-idem' };
    const repeat = await started.api('POST', '/v3/cards', reordered);
    expect(repeat.status).toBe(201);
    expect(repeat.body).toEqual(first.body);

    const conflict = await started.api('POST', '/v3/cards', { ...request, metadata: { team: 'other' } });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error_code).toMatch(/^409[0-9]{3}$/);
    expect(started.sim.state.cards.size).toBe(1);
  });

  it('shows the PAN only when asked, consistent with last_four and a valid Luhn digit', async () => {
    const hidden = await started.api('GET', '/v3/cards/card-idem');
    expect(hidden.status).toBe(200);
    expect(hidden.body).not.toHaveProperty('pan');
    const shown = await started.api('GET', '/v3/cards/card-idem?show_pan=true');
    const pan = String(shown.body.pan);
    expect(pan).toMatch(/^[0-9]{16}$/);
    expect(pan.endsWith(String(hidden.body.last_four))).toBe(true);
    expect(luhnValid(pan)).toBe(true);
  });

  it('answers 401 with Marqeta error body for bad credentials, on the Core API and on /_sim', async () => {
    for (const path of ['/v3/users/u-core', '/_sim/state']) {
      const wrong = await started.api('GET', path, undefined, basic('app-token-1', 'not-the-token'));
      expect(wrong.status).toBe(401);
      expect(wrong.body).toEqual({
        error_message: expect.any(String),
        error_code: expect.stringMatching(/^401[0-9]{3}$/),
      });
    }
    const missing = await started.api('GET', '/v3/users/u-core', undefined, '');
    expect(missing.status).toBe(401);
  });

  it('answers GET /health without credentials, and nothing else without them', async () => {
    const health = await started.api('GET', '/health', undefined, '');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    for (const [method, path] of [
      ['GET', '/_sim/faults'],
      ['POST', '/v3/simulate/authorization'],
      ['GET', '/v3/cards/card-idem'],
    ] as const) {
      const anonymous = await started.api(method, path, method === 'POST' ? {} : undefined, '');
      expect(anonymous.status, `${method} ${path}`).toBe(401);
    }
  });

  it('answers 404 for unknown tokens and 400 for invalid bodies, with error_code = status + 3 digits', async () => {
    const unknown_card = await started.api('GET', '/v3/cards/no-such-card');
    expect(unknown_card.status).toBe(404);
    expect(unknown_card.body.error_code).toMatch(/^404[0-9]{3}$/);
    const unknown_user = await started.api('POST', '/v3/cards', {
      user_token: 'ghost',
      card_product_token: 'product-core',
    });
    expect(unknown_user.status).toBe(404);
    const no_start_date = await started.api('POST', '/v3/cardproducts', { name: 'Missing start date' });
    expect(no_start_date.status).toBe(400);
    expect(no_start_date.body.error_code).toMatch(/^400[0-9]{3}$/);
    expect(String(no_start_date.body.error_message)).toContain('start_date');
    const short_password = await started.api('POST', '/v3/fundingsources/programgateway', {
      name: 'x',
      url: 'http://127.0.0.1:9/',
      basic_auth_username: 'u',
      basic_auth_password: 'too-short',
    });
    expect(short_password.status).toBe(400);
  });

  it('moves cards through legal transitions only: TERMINATED never comes back', async () => {
    const transition = (token: string, state: string) =>
      started.api('POST', '/v3/cardtransitions', { token, card_token: 'card-idem', channel: 'API', state });
    const activated = await transition('ct-1', 'ACTIVE');
    expect(activated.status).toBe(201);
    expect(activated.body).toMatchObject({
      type: 'state.activated',
      state: 'ACTIVE',
      card_token: 'card-idem',
    });
    expect((await transition('ct-2', 'SUSPENDED')).body.type).toBe('state.suspended');
    expect((await transition('ct-3', 'ACTIVE')).body.type).toBe('state.reinstated');
    expect((await transition('ct-4', 'TERMINATED')).status).toBe(201);
    const revived = await transition('ct-5', 'ACTIVE');
    expect(revived.status).toBe(400);
    expect(String(revived.body.error_message)).toContain('TERMINATED');
    // The same transition token repeated is not applied twice.
    expect((await transition('ct-4', 'TERMINATED')).status).toBe(201);
    expect((await started.api('GET', '/v3/cards/card-idem')).body.state).toBe('TERMINATED');
  });

  it('manages users: read, update, transition, and masks credentials of funding sources', async () => {
    const updated = await started.api('PUT', '/v3/users/u-core', { last_name: 'Hopper' });
    expect(updated.body).toMatchObject({
      token: 'u-core',
      first_name: 'Grace',
      last_name: 'Hopper',
      status: 'ACTIVE',
    });
    const suspended = await started.api('POST', '/v3/usertransitions', {
      user_token: 'u-core',
      status: 'SUSPENDED',
      reason_code: '01',
      channel: 'API',
    });
    expect(suspended.status).toBe(201);
    expect((await started.api('GET', '/v3/users/u-core')).body).toMatchObject({
      status: 'SUSPENDED',
      active: false,
    });
    const source = await started.api('GET', '/v3/fundingsources/programgateway/pgfs-core');
    expect(source.body).toMatchObject({ token: 'pgfs-core', timeout_millis: 3000 });
    expect(source.body.basic_auth_password).not.toBe(gateway_auth.password);
  });
});

function luhnValid(pan: string): boolean {
  let sum = 0;
  for (let i = 0; i < pan.length; i += 1) {
    let digit = Number(pan[pan.length - 1 - i]);
    if (i % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return sum % 10 === 0;
}
