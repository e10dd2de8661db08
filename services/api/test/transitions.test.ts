import { TcpProxy, waitUntil } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CardBusyError, withCardLock } from '../src/transitions/card-lock.ts';
import { transitionToken } from '../src/transitions/card-transitions.ts';
import {
  admin_key,
  bearer,
  createCard,
  createCompany,
  createUser,
  type Harness,
  rowCounts,
  startApi,
  type Tenant,
} from './harness.ts';
import {
  apiTransitionsAt,
  createPersonalUser,
  issueBusinessCard,
  issuePersonalCard,
  type Sim,
  simCardState,
  startSim,
} from './sim.ts';

let s: Sim;
let marqeta_proxy: TcpProxy;
let h: Harness;
let a: Tenant;
let b: Tenant;

beforeAll(async () => {
  s = await startSim();
  // The api reaches Marqeta through a proxy a test can hold (requests wait there, unanswered).
  const sim_url = new URL(s.env.MARQETA_BASE_URL ?? '');
  marqeta_proxy = new TcpProxy({ target_port: Number(sim_url.port) });
  await marqeta_proxy.start();
  h = await startApi({ ...s.env, MARQETA_BASE_URL: `http://127.0.0.1:${marqeta_proxy.port}/v3` });
  a = await createCompany(h.app, 'A');
  b = await createCompany(h.app, 'B');
});
afterAll(async () => {
  await h.close();
  await marqeta_proxy.stop();
  await s.close();
});

async function issuedCard() {
  const user = await createUser(h.app, a);
  const card = await createCard(h.app, a, user.id);
  await issueBusinessCard(h.app, s, card, user.user_token);
  return { ...card, user_token: user.user_token };
}

function transition(card_id: string, state: string, key = a.key) {
  return h.app.inject({
    method: 'POST',
    url: `/v1/cards/${card_id}/transitions`,
    headers: bearer(key),
    payload: { state, reason: 'cardholder reported it lost' },
  });
}

async function localCard(card_token: string) {
  const [row] = await h.app.postgres.sql<{ state: string; version: string }[]>`
    select state, version from cards where card_token = ${card_token}`;
  return { state: row?.state, version: Number(row?.version) };
}

const redisCard = async (user_token: string, card_token: string) =>
  (await h.app.api.card_state.readState(user_token, card_token)).card;

// The transition's request reaches Marqeta and Marqeta's answer is held at the proxy; meanwhile
// the card is moved at Marqeta directly (to `later`) and `applied` does what the webhooks
// consumer would.
async function movedAtMarqetaMeanwhile<R>(
  start: () => Promise<R>,
  card_token: string,
  states: { readonly ours: string; readonly later: string },
  applied: () => Promise<unknown>,
): Promise<R> {
  marqeta_proxy.hold();
  try {
    const pending = start();
    await waitUntil(() => marqeta_proxy.held_chunk_count >= 1, { message: 'the request at the proxy' });
    marqeta_proxy.release();
    marqeta_proxy.hold();
    await waitUntil(() => marqeta_proxy.held_chunk_count >= 1, { message: "Marqeta's answer at the proxy" });
    expect(simCardState(s, card_token)).toBe(states.ours);
    await s.client.createCardTransition({
      token: `later-${card_token}`.slice(0, 36),
      card_token,
      channel: 'API',
      state: states.later as 'ACTIVE' | 'SUSPENDED' | 'TERMINATED',
      reason: 'changed by the program manager',
    });
    await applied();
    marqeta_proxy.release();
    return await pending;
  } finally {
    marqeta_proxy.release();
  }
}

describe('business card transitions', () => {
  it('suspend, reactivate, terminate: Marqeta, the data of record and Redis before the answer', async () => {
    const card = await issuedCard();
    const before = await localCard(card.card_token);
    const steps = [
      ['SUSPENDED', 'suspended'],
      ['ACTIVE', 'active'],
      ['TERMINATED', 'terminated'],
    ] as const;
    for (const [index, [state, local]] of steps.entries()) {
      const response = await transition(card.id, state);
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json()).toMatchObject({ card_token: card.card_token, state: local, changed: true });
      expect(simCardState(s, card.card_token)).toBe(state);
      expect(await localCard(card.card_token)).toEqual({ state: local, version: before.version + index + 1 });
      expect(await redisCard(card.user_token, card.card_token)).toMatchObject({
        state: local,
        version: before.version + index + 1,
      });
    }
    expect(apiTransitionsAt(s, card.card_token)).toHaveLength(3);
    // The reason is free text (it may carry a card number): kept in the history, never logged.
    expect(h.log_lines.join('')).not.toContain('cardholder reported it lost');
  });

  it('transitions waiting on a slow Marqeta hold no PostgreSQL connection: other requests are answered meanwhile', async () => {
    // More cards than the pool has connections (PG_POOL_MAX 4 in the harness).
    const cards = [];
    for (let i = 0; i < 6; i += 1) cards.push(await issuedCard());
    const [first] = cards;
    if (first === undefined) throw new Error('six cards');
    marqeta_proxy.hold();
    try {
      let finished = 0;
      const suspensions = cards.map((card) =>
        transition(card.id, 'SUSPENDED').then((response) => {
          finished += 1;
          return response;
        }),
      );
      // Every transition at Marqeta at once: a transition holding a pooled connection while it
      // waits would leave the last two waiting for a connection, short of Marqeta.
      await waitUntil(() => marqeta_proxy.held_chunk_count >= cards.length, {
        message: 'all six transitions waiting on Marqeta',
      });
      const read = await h.app.inject({ url: `/v1/cards/${first.id}`, headers: bearer(a.key) });
      expect(read.statusCode).toBe(200);
      // Answered while every transition was still waiting for Marqeta.
      expect(finished).toBe(0);
      marqeta_proxy.release();
      for (const response of await Promise.all(suspensions)) {
        expect(response.statusCode, response.body).toBe(200);
      }
    } finally {
      marqeta_proxy.release();
    }
    for (const card of cards) expect((await localCard(card.card_token)).state).toBe('suspended');
  });

  // A transition held at Marqeta (the proxy) while the row is moved underneath, as the webhooks
  // consumer would move it; then let go.
  async function transitionWhileMoved(
    card: { id: string; card_token: string },
    state: string,
    moved_to: string,
  ) {
    marqeta_proxy.hold();
    try {
      const pending = transition(card.id, state);
      await waitUntil(() => marqeta_proxy.held_chunk_count >= 1, { message: 'the transition at Marqeta' });
      await h.app.postgres.sql`update cards set state = ${moved_to}, version = version + 1
        where card_token = ${card.card_token}`;
      marqeta_proxy.release();
      return await pending;
    } finally {
      marqeta_proxy.release();
    }
  }

  it("Marqeta's webhook of this very transition applied first: ours stands, written once, recorded once", async () => {
    const card = await issuedCard();
    const before = await localCard(card.card_token);
    const response = await transitionWhileMoved(card, 'SUSPENDED', 'suspended');
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ previous_state: 'active', state: 'suspended', changed: true });
    // The consumer's bump only: the route did not write the same state again.
    expect(await localCard(card.card_token)).toEqual({ state: 'suspended', version: before.version + 1 });
    expect(await redisCard(card.user_token, card.card_token)).toMatchObject({ state: 'suspended' });
    const [history] = await h.app.postgres.sql<{ count: number }[]>`
      select count(*)::int as count from card_lifecycle_events
      where card_token = ${card.card_token} and type = 'card.suspended'`;
    expect(history?.count).toBe(1);
  });

  it('suspended again at Marqeta after our reactivation, before our write: 409, the card stays suspended, ours is in the history', async () => {
    const card = await issuedCard();
    expect((await transition(card.id, 'SUSPENDED')).statusCode).toBe(200);
    // The later suspension leaves the card as the data of record has it: the consumer records
    // it as unchanged and only moves the version.
    const response = await movedAtMarqetaMeanwhile(
      () => transition(card.id, 'ACTIVE'),
      card.card_token,
      { ours: 'ACTIVE', later: 'SUSPENDED' },
      () => h.app.postgres.sql`update cards set version = version + 1 where card_token = ${card.card_token}`,
    );
    expect(simCardState(s, card.card_token)).toBe('SUSPENDED');
    expect(response.statusCode, response.body).toBe(409);
    expect(response.json()).toMatchObject({ message: expect.stringContaining('suspended') });
    expect((await localCard(card.card_token)).state).toBe('suspended');
    expect(await redisCard(card.user_token, card.card_token)).toMatchObject({ state: 'suspended' });
    const types = await h.app.postgres.sql<{ type: string }[]>`
      select type from card_lifecycle_events where card_token = ${card.card_token} order by recorded_at, type`;
    expect(types.map((row) => row.type)).toContain('card.reactivated');
  });

  it("terminated at Marqeta after our transition, before our write: the answer is 409 and Marqeta's state stands", async () => {
    const card = await issuedCard();
    const response = await movedAtMarqetaMeanwhile(
      () => transition(card.id, 'SUSPENDED'),
      card.card_token,
      { ours: 'SUSPENDED', later: 'TERMINATED' },
      () => h.app.postgres.sql`update cards set state = 'terminated', version = version + 1
        where card_token = ${card.card_token}`,
    );
    expect(response.statusCode, response.body).toBe(409);
    expect(response.json()).toMatchObject({
      error: 'conflict',
      message: expect.stringContaining('terminated'),
    });
    expect((await localCard(card.card_token)).state).toBe('terminated');
    expect(await redisCard(card.user_token, card.card_token)).toMatchObject({ state: 'terminated' });
  });

  it('a repeat of the same target answers 200 unchanged without a second Marqeta transition', async () => {
    const card = await issuedCard();
    expect((await transition(card.id, 'SUSPENDED')).statusCode).toBe(200);
    const again = await transition(card.id, 'SUSPENDED');
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ previous_state: 'suspended', state: 'suspended', changed: false });
    expect(apiTransitionsAt(s, card.card_token)).toHaveLength(1);
  });

  it('a retry after Marqeta applied it but the answer was lost reuses the token: one transition', async () => {
    const card = await issuedCard();
    const { version } = await localCard(card.card_token);
    // The first attempt reached Marqeta; nothing was written here.
    await s.client.createCardTransition({
      token: transitionToken(card.card_token, version, 'SUSPENDED'),
      card_token: card.card_token,
      channel: 'API',
      state: 'SUSPENDED',
      reason: 'cardholder reported it lost',
    });
    const retry = await transition(card.id, 'SUSPENDED');
    expect(retry.statusCode, retry.body).toBe(200);
    expect(retry.json()).toMatchObject({ changed: true, state: 'suspended' });
    expect(apiTransitionsAt(s, card.card_token)).toHaveLength(1);
    expect(await localCard(card.card_token)).toEqual({ state: 'suspended', version: version + 1 });
  });

  it('terminated never becomes active again: 409, nothing called or written', async () => {
    const card = await issuedCard();
    expect((await transition(card.id, 'TERMINATED')).statusCode).toBe(200);
    const before = await rowCounts(h.app);
    const response = await transition(card.id, 'ACTIVE');
    expect(response.statusCode).toBe(409);
    expect(response.json().fields).toEqual(['body.state']);
    expect(await rowCounts(h.app)).toEqual(before);
    expect(simCardState(s, card.card_token)).toBe('TERMINATED');
    expect(apiTransitionsAt(s, card.card_token)).toHaveLength(1);
  });

  it('a card not yet issued cannot move (409); another company gets 404', async () => {
    const user = await createUser(h.app, a);
    const requested = await createCard(h.app, a, user.id);
    expect((await transition(requested.id, 'SUSPENDED')).statusCode).toBe(409);
    const card = await issuedCard();
    expect((await transition(card.id, 'SUSPENDED', b.key)).statusCode).toBe(404);
    expect((await transition(card.id, 'SUSPENDED', admin_key)).statusCode).toBe(403);
    expect(await localCard(card.card_token)).toMatchObject({ state: 'active' });
    expect(apiTransitionsAt(s, card.card_token)).toHaveLength(0);
  });

  it("Marqeta's 4xx is a 502 with its error_code, and nothing is written here or in Redis", async () => {
    const card = await issuedCard();
    expect((await transition(card.id, 'SUSPENDED')).statusCode).toBe(200);
    // Terminated at Marqeta behind our back: suspended → active is illegal there.
    await s.client.createCardTransition({
      token: `outside-${card.card_token}`.slice(0, 36),
      card_token: card.card_token,
      channel: 'ADMIN',
      state: 'TERMINATED',
    });
    const before = await localCard(card.card_token);
    const response = await transition(card.id, 'ACTIVE');
    expect(response.statusCode, response.body).toBe(502);
    expect(response.json()).toMatchObject({ error: 'marqeta_rejected', marqeta_error_code: '400121' });
    expect(await localCard(card.card_token)).toEqual(before);
    expect(await redisCard(card.user_token, card.card_token)).toMatchObject({
      state: 'suspended',
      version: before.version,
    });
  });
});

describe('personal card transitions (admin key)', () => {
  it('suspend and terminate reach Marqeta, the personal store and Redis; then 409', async () => {
    const user = await createPersonalUser(h.app);
    const created = await h.app.inject({
      method: 'POST',
      url: '/v1/personal/cards',
      headers: bearer(admin_key),
      payload: { user_token: user.user_token, card_product_token: 'product-activate' },
    });
    expect(created.statusCode, created.body).toBe(202);
    const { card_token } = created.json<{ card_token: string }>();
    await issuePersonalCard(h.app, s, card_token, user.user_token);
    const url = `/v1/personal/cards/${card_token}/transitions`;
    const post = (state: string, key = admin_key) =>
      h.app.inject({ method: 'POST', url, headers: bearer(key), payload: { state, reason: 'fraud review' } });
    expect((await post('SUSPENDED', a.key)).statusCode).toBe(403);
    const suspended = await post('SUSPENDED');
    expect(suspended.statusCode, suspended.body).toBe(200);
    expect(simCardState(s, card_token)).toBe('SUSPENDED');
    expect((await h.app.personalStore.getCard(card_token))?.state).toBe('suspended');
    expect(await redisCard(user.user_token, card_token)).toMatchObject({
      state: 'suspended',
      program: 'personal',
    });
    expect((await post('TERMINATED')).statusCode).toBe(200);
    expect(await redisCard(user.user_token, card_token)).toMatchObject({ state: 'terminated' });
    const illegal = await post('ACTIVE');
    expect(illegal.statusCode).toBe(409);
    expect(simCardState(s, card_token)).toBe('TERMINATED');
    expect(apiTransitionsAt(s, card_token)).toHaveLength(2);
    expect(h.log_lines.join('')).not.toContain('fraud review');
  });

  async function issuedPersonalCard() {
    const user = await createPersonalUser(h.app);
    const created = await h.app.inject({
      method: 'POST',
      url: '/v1/personal/cards',
      headers: bearer(admin_key),
      payload: { user_token: user.user_token, card_product_token: 'product-activate' },
    });
    const { card_token } = created.json<{ card_token: string }>();
    await issuePersonalCard(h.app, s, card_token, user.user_token);
    return { card_token, user_token: user.user_token };
  }

  const personalTransition = (card_token: string, state: string) =>
    h.app.inject({
      method: 'POST',
      url: `/v1/personal/cards/${card_token}/transitions`,
      headers: bearer(admin_key),
      payload: { state, reason: 'concurrent requests' },
    });

  it('terminated at Marqeta after our transition, before our write: 409, and the store and Redis follow Marqeta', async () => {
    const card = await issuedPersonalCard();
    const response = await movedAtMarqetaMeanwhile(
      () => personalTransition(card.card_token, 'SUSPENDED'),
      card.card_token,
      { ours: 'SUSPENDED', later: 'TERMINATED' },
      () => h.app.personalStore.setCardState(card.card_token, 'terminated'),
    );
    expect(response.statusCode, response.body).toBe(409);
    expect((await h.app.personalStore.getCard(card.card_token))?.state).toBe('terminated');
    expect(await redisCard(card.user_token, card.card_token)).toMatchObject({ state: 'terminated' });
  });

  it('two concurrent transitions of one card run one after the other: Marqeta, the store and Redis agree', async () => {
    // Slow Marqeta answers: without the card's lock both requests would be at Marqeta at once.
    s.sim.setFaults({ core_latency_ms: 40 });
    try {
      const pairs = [
        ['SUSPENDED', 'TERMINATED'],
        ['TERMINATED', 'SUSPENDED'],
        ['SUSPENDED', 'ACTIVE'],
        ['ACTIVE', 'SUSPENDED'],
      ] as const;
      for (const [first, second] of pairs) {
        const card = await issuedPersonalCard();
        const answers = await Promise.all([
          personalTransition(card.card_token, first),
          personalTransition(card.card_token, second),
        ]);
        // Serialized, the second sees the first's outcome: a legal move, the same state, or 409;
        // never a 502 from Marqeta refusing a move our data of record thought legal.
        for (const answer of answers) expect([200, 409], answer.body).toContain(answer.statusCode);
        const stored = await h.app.personalStore.getCard(card.card_token);
        const redis = await redisCard(card.user_token, card.card_token);
        expect(redis).toMatchObject({ state: stored?.state, version: stored?.updated_at.getTime() });
        expect(simCardState(s, card.card_token)).toBe(stored?.state.toUpperCase());
        const changed = answers.filter((answer) => answer.statusCode === 200 && answer.json().changed);
        expect(apiTransitionsAt(s, card.card_token)).toHaveLength(changed.length);
      }
    } finally {
      s.sim.setFaults({ core_latency_ms: 0 });
    }
  });

  it('a transition waiting longer than the bound for the card answers 503; the card is free again after', async () => {
    const card = await issuedPersonalCard();
    let release = () => {};
    const held = withCardLock(h.app.redis, card.card_token, { ttl_ms: 10_000, wait_timeout_ms: 1 }, () => {
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    await expect(
      withCardLock(h.app.redis, card.card_token, { ttl_ms: 10_000, wait_timeout_ms: 50 }, async () => 'ran'),
    ).rejects.toBeInstanceOf(CardBusyError);
    release();
    await held;
    expect(
      await withCardLock(
        h.app.redis,
        card.card_token,
        { ttl_ms: 10_000, wait_timeout_ms: 50 },
        async () => 'ran',
      ),
    ).toBe('ran');
  });
});
