import { waitUntil } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheCard, decide, seedBusinessCard } from './consumer-seed.ts';
import { type Harness, signature_secret, startWebhooks } from './harness.ts';
import { configureWebhook, provisionCard, type Sim, startSim, transitionCard } from './sim.ts';

let h: Harness;
let s: Sim;

beforeAll(async () => {
  h = await startWebhooks({ consumer: true });
  s = startSim();
  await configureWebhook(s, 'wh-consumer', h.url, signature_secret, 'HMAC_SHA_256');
});
afterAll(async () => {
  await s?.sim.close();
  await h?.close();
});

describe('from Marqeta (the simulator) to the next decision', () => {
  it('a card suspended and a user suspended at Marqeta: signed webhooks, the queue, the data of record, Redis', async () => {
    // Recorded here before Marqeta creates it, as the control plane does (provisionCard's tokens).
    const card = await seedBusinessCard(h.app.postgres.sql, 'active', {
      card_token: 'card-consumer',
      user_token: 'user-consumer',
    });
    expect(await provisionCard(s, 'consumer')).toEqual(card);
    await cacheCard(h, card.card_token);
    expect(await decide(h, card)).toBe('approve');
    await transitionCard(s, card.card_token, 1);
    await waitUntil(
      async () => {
        const [row] = await h.app.postgres.sql<{ state: string }[]>`
          select state from cards where card_token = ${card.card_token}`;
        return row?.state === 'suspended';
      },
      { timeout_ms: 15_000, message: 'the card suspended in the data of record' },
    );
    // The write-through follows the commit: wait for the consumer's line, then decide.
    await waitUntil(() => h.log_lines.some((line) => line.includes('"outcome":"applied"')), {
      message: 'the transition handled',
    });
    expect(await decide(h, card)).toBe('card_not_active');
    await s.api('POST', '/v3/usertransitions', {
      user_token: card.user_token,
      status: 'SUSPENDED',
      reason_code: '01',
      channel: 'API',
    });
    await waitUntil(
      () =>
        h.log_lines.some(
          (line) => line.includes('webhooks.user_transition') && line.includes('"outcome":"applied"'),
        ),
      { timeout_ms: 15_000, message: 'the user transition handled' },
    );
    const [user] = await h.app.postgres.sql<{ marqeta_state: string }[]>`
      select marqeta_state from users where user_token = ${card.user_token}`;
    expect(user?.marqeta_state).toBe('SUSPENDED');
    // Marqeta's announcement of the issue (state ACTIVE, older or in the same second) changed
    // nothing. The simulator stamps whole seconds, so both can share a created_time; the
    // consumer's own order breaks the tie (the more restrictive state is the newer).
    const outcomes = await h.app.postgres.sql<{ state: string; outcome: string }[]>`
      select state, outcome from marqeta_transitions where subject = 'card'
      order by created_time, state_rank`;
    expect(outcomes).toEqual([
      { state: 'ACTIVE', outcome: expect.stringMatching(/^(unchanged|superseded)$/) },
      { state: 'SUSPENDED', outcome: 'applied' },
    ]);
  });
});
