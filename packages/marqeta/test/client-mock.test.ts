import { Registry } from 'prom-client';
import { errors, MockAgent, type MockPool } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type CircuitStateChange,
  MarqetaCircuitOpenError,
  MarqetaInvalidResponseError,
  MarqetaTimeoutError,
  marqeta_error_codes,
} from '../src/index.ts';
import { type TestClient, testClient } from './helpers.ts';

// Failure paths Marqeta-sim does not produce on demand: hanging answers, garbage, a run of 503s
// for the breaker. No network: MockAgent refuses anything not intercepted.
const origin = 'https://marqeta.test';
const base_url = `${origin}/v3`;
const json = { 'content-type': 'application/json' };

const card = {
  token: 'card-1',
  user_token: 'user-1',
  card_product_token: 'product-1',
  last_four: '1234',
  expiration: '0130',
  state: 'ACTIVE',
  some_future_field: { nested: true },
};

let agent: MockAgent;
let pool: MockPool;

beforeEach(() => {
  agent = new MockAgent({ enableCallHistory: true });
  agent.disableNetConnect();
  pool = agent.get(origin);
});

afterEach(async () => {
  await agent.close();
});

function mocked(overrides: Parameters<typeof testClient>[1] = {}): TestClient {
  return testClient(base_url, { dispatcher: agent, ...overrides });
}

function requestsMade(): number {
  return agent.getCallHistory()?.calls().length ?? 0;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('MarqetaClient timeouts and unusable answers', () => {
  it('retries an attempt that outlives request_timeout_ms, then fails with AFC_MARQETA_TIMEOUT', async () => {
    pool
      .intercept({ path: '/v3/cards/card-1', method: 'GET' })
      .reply(200, card, { headers: json })
      .delay(60_000)
      .times(3);
    const { client, clock } = mocked({ request_timeout_ms: 20 });
    const error = await rejection(client.getCard('card-1'));
    expect(error).toBeInstanceOf(MarqetaTimeoutError);
    expect(error).toMatchObject({
      code: marqeta_error_codes.timeout,
      attempts: 3,
      method: 'GET',
      path: '/cards/card-1',
    });
    expect(clock.sleeps).toHaveLength(2);
    expect(requestsMade()).toBe(3);
    // The bound callers hold locks for: every attempt's timeout and the longest delays between.
    expect(client.longest_call_ms).toBe(3 * 20 + 2 * 10_000);
    expect(3 * 20 + clock.sleeps.reduce((sum, ms) => sum + ms, 0)).toBeLessThanOrEqual(
      client.longest_call_ms,
    );
  });

  it("classifies undici's headers timeout as a timeout, and succeeds when the retry is answered", async () => {
    pool
      .intercept({ path: '/v3/cards/card-1', method: 'GET' })
      .replyWithError(new errors.HeadersTimeoutError());
    pool.intercept({ path: '/v3/cards/card-1', method: 'GET' }).reply(200, card, { headers: json });
    const { client, log } = mocked();
    expect(await client.getCard('card-1')).toEqual(card);
    expect(log.text()).toContain('UND_ERR_HEADERS_TIMEOUT');
    expect(requestsMade()).toBe(2);
  });

  it('does not retry malformed JSON: AFC_MARQETA_INVALID_RESPONSE', async () => {
    pool
      .intercept({ path: '/v3/cards/card-1', method: 'GET' })
      .reply(200, '{"token": "card-1", ', { headers: json });
    const { client, clock } = mocked();
    const error = await rejection(client.getCard('card-1'));
    expect(error).toBeInstanceOf(MarqetaInvalidResponseError);
    expect(error).toMatchObject({ code: marqeta_error_codes.invalid_response, status: 200, attempts: 1 });
    expect((error as MarqetaInvalidResponseError).issues).toEqual(['body is not JSON']);
    expect(clock.sleeps).toEqual([]);
  });

  it('rejects an answer that does not fit the schema, naming paths but not values', async () => {
    const { last_four: _, ...without_last_four } = card;
    const misfit = { ...without_last_four, state: 'MELTED', pan: '4111111111111111' };
    pool.intercept({ path: '/v3/cards/card-1', method: 'GET' }).reply(200, misfit, { headers: json });
    const { client } = mocked();
    const error = (await rejection(client.getCard('card-1'))) as MarqetaInvalidResponseError;
    expect(error.code).toBe(marqeta_error_codes.invalid_response);
    expect(error.issues.join('\n')).toMatch(/\/last_four/);
    expect(error.issues.join('\n')).toMatch(/\/state/);
    expect(`${error.message} ${error.issues.join('')}`).not.toMatch(/MELTED|4111111111111111/);
  });

  it('caps a Retry-After HTTP date at max_delay_ms', async () => {
    const { client, clock } = mocked({ retry: { max_delay_ms: 5_000 } });
    const far = new Date(clock.now_ms + 3_600_000).toUTCString();
    const near = new Date(clock.now_ms + 3_000).toUTCString();
    const path = '/v3/cards/card-1';
    pool.intercept({ path, method: 'GET' }).reply(429, {}, { headers: { ...json, 'retry-after': near } });
    pool.intercept({ path, method: 'GET' }).reply(503, {}, { headers: { ...json, 'retry-after': far } });
    pool.intercept({ path, method: 'GET' }).reply(200, card, { headers: json });
    expect(await client.getCard('card-1')).toEqual(card);
    expect(clock.sleeps).toEqual([3_000, 5_000]);
  });

  it('never retries a 4xx other than 429, and keeps its error_code', async () => {
    pool
      .intercept({ path: '/v3/users', method: 'POST' })
      .reply(
        422,
        { error_code: 422001, error_message: 'velocity' },
        { headers: { ...json, 'retry-after': '1' } },
      );
    const { client, clock } = mocked();
    const error = await rejection(client.createUser({ token: 'user-1' }));
    expect(error).toMatchObject({
      status: 422,
      error_code: '422001',
      error_message: 'velocity',
      attempts: 1,
    });
    expect(clock.sleeps).toEqual([]);
    expect(requestsMade()).toBe(1);
  });

  it('refuses to send a request that breaks our schema (our bug), without a request', async () => {
    const { client } = mocked();
    await expect(client.createUser({ token: 'bad{token}' })).rejects.toThrow(
      /invalid Marqeta request: \/token/,
    );
    await expect(client.getUser('a/b')).rejects.toThrow(/invalid Marqeta token/);
    expect(requestsMade()).toBe(0);
  });
});

describe('MarqetaClient circuit breaker', () => {
  const breaker = {
    failure_threshold: 3,
    failure_ratio: 1,
    window_size: 10,
    minimum_calls: 10,
    cool_down_ms: 1_000,
  };

  function failing(times: number) {
    pool
      .intercept({ path: '/v3/cards/card-1', method: 'GET' })
      .reply(503, { error_code: '503001' })
      .times(times);
  }

  function answering() {
    pool.intercept({ path: '/v3/cards/card-1', method: 'GET' }).reply(200, card, { headers: json });
  }

  function breakerClient() {
    const changes: CircuitStateChange[] = [];
    const registry = new Registry();
    const made = mocked({
      retry: { max_attempts: 2 },
      breaker,
      onStateChange: (change) => void changes.push(change),
      metrics_registry: registry,
    });
    return { ...made, changes, registry };
  }

  async function gauge(registry: Registry): Promise<number | undefined> {
    const metric = await registry.getSingleMetric('afc_marqeta_circuit_state')?.get();
    return metric?.values.find((value) => value.labels.origin === origin)?.value;
  }

  it('opens after failure_threshold failed calls and then refuses without a request', async () => {
    const { client, changes, registry } = breakerClient();
    failing(6);
    for (let call = 1; call <= 3; call += 1) {
      expect(client.circuit_state).toBe('closed');
      expect(await rejection(client.getCard('card-1'))).toMatchObject({ status: 503, attempts: 2 });
    }
    expect(client.circuit_state).toBe('open');
    expect(await gauge(registry)).toBe(2);
    expect(requestsMade()).toBe(6);
    const refused = await rejection(client.getCard('card-1'));
    expect(refused).toBeInstanceOf(MarqetaCircuitOpenError);
    expect(refused).toMatchObject({
      code: marqeta_error_codes.circuit_open,
      attempts: 0,
      retry_in_ms: 1_000,
    });
    expect(requestsMade()).toBe(6);
    expect(changes.map(({ from, to }) => `${from}>${to}`)).toEqual(['closed>open']);
  });

  it('lets one probe through after the cool-down and closes when it succeeds', async () => {
    const { client, clock, changes, registry } = breakerClient();
    failing(6);
    for (let call = 1; call <= 3; call += 1) await rejection(client.getCard('card-1'));
    const opened_ms = clock.now_ms;
    clock.now_ms = opened_ms + 999;
    expect(await rejection(client.getCard('card-1'))).toMatchObject({ retry_in_ms: 1 });
    clock.now_ms = opened_ms + 1_000;
    answering();
    const probe = client.getCard('card-1');
    expect(client.circuit_state).toBe('half_open');
    // Only one probe at a time: a call during the probe is refused without a request.
    expect(await rejection(client.getCard('card-1'))).toMatchObject({
      code: marqeta_error_codes.circuit_open,
      retry_in_ms: 0,
    });
    expect(await probe).toEqual(card);
    expect(client.circuit_state).toBe('closed');
    expect(await gauge(registry)).toBe(0);
    expect(requestsMade()).toBe(7);
    expect(changes.map(({ from, to }) => `${from}>${to}`)).toEqual([
      'closed>open',
      'open>half_open',
      'half_open>closed',
    ]);
    expect(changes[1]?.at_ms).toBe(opened_ms + 1_000);
  });

  it('opens again for a new cool-down when the probe fails', async () => {
    const { client, clock, changes } = breakerClient();
    failing(8);
    for (let call = 1; call <= 3; call += 1) await rejection(client.getCard('card-1'));
    clock.now_ms += 1_000;
    expect(await rejection(client.getCard('card-1'))).toMatchObject({ status: 503, attempts: 2 });
    expect(client.circuit_state).toBe('open');
    expect(await rejection(client.getCard('card-1'))).toMatchObject({ retry_in_ms: 1_000 });
    expect(changes.map(({ to }) => to)).toEqual(['open', 'half_open', 'open']);
  });

  it('opens on the failure ratio over the window, not before minimum_calls', async () => {
    const { client } = mocked({
      retry: { max_attempts: 1 },
      breaker: {
        failure_threshold: 100,
        failure_ratio: 0.5,
        window_size: 4,
        minimum_calls: 4,
        cool_down_ms: 1_000,
      },
    });
    // Two failures in three calls is past the ratio, but three calls are below minimum_calls.
    for (const fails of [true, true, false]) {
      if (fails) failing(1);
      else answering();
      await client.getCard('card-1').catch(() => undefined);
      expect(client.circuit_state).toBe('closed');
    }
    answering();
    await client.getCard('card-1');
    // Window now: fail, fail, success, success: 2 of 4, a success opened it.
    expect(client.circuit_state).toBe('open');
  });

  it('does not count 4xx answers or unusable answers against Marqeta', async () => {
    const { client } = breakerClient();
    pool.intercept({ path: '/v3/cards/card-1', method: 'GET' }).reply(404, { error_code: '404001' }).times(4);
    pool.intercept({ path: '/v3/cards/card-1', method: 'GET' }).reply(200, 'garbage').times(4);
    for (let call = 1; call <= 8; call += 1) await rejection(client.getCard('card-1'));
    expect(client.circuit_state).toBe('closed');
    expect(requestsMade()).toBe(8);
  });

  it('survives an onStateChange listener that throws', async () => {
    const { client, log } = mocked({
      retry: { max_attempts: 1 },
      breaker,
      onStateChange: () => {
        throw new Error('listener bug');
      },
    });
    failing(3);
    for (let call = 1; call <= 3; call += 1) {
      expect(await rejection(client.getCard('card-1'))).toMatchObject({ status: 503 });
    }
    expect(client.circuit_state).toBe('open');
    expect(log.text()).toContain('onStateChange listener threw');
  });
});
