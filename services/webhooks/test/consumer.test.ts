import type { MessageContext } from '@afc/amqp';
import { createLogger } from '@afc/log';
import type { WebhookReceived } from '@afc/messages';
import { waitUntil } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookEventsHandler } from '../src/consumer/webhook-events-handler.ts';
import {
  cacheCard,
  cardTransition,
  decide,
  nextToken,
  type SeededCard,
  seedBusinessCard,
  seedPersonalCard,
  userTransition,
} from './consumer-seed.ts';
import { type Harness, startWebhooks } from './harness.ts';
import { metricValue } from './metric-value.ts';

let h: Harness;

beforeAll(async () => {
  h = await startWebhooks({ consumer: true });
});
afterAll(async () => {
  await h?.close();
});

interface LogLine {
  readonly event?: string;
  readonly message_id?: string;
  readonly outcome?: string;
  readonly level?: string;
}

function logsOf(message_id: string): LogLine[] {
  return h.log_lines
    .map((line) => JSON.parse(line) as LogLine)
    .filter((line) => line.message_id === message_id);
}

// The consumer logs one line per handled delivery, after its write-through to Redis.
async function handled(message_id: string, event: string): Promise<LogLine> {
  let found: LogLine | undefined;
  await waitUntil(
    () => {
      found = logsOf(message_id).find((line) => line.event === event);
      return found !== undefined;
    },
    { timeout_ms: 10_000, message: `${event} for ${message_id}` },
  );
  return found as LogLine;
}

async function cardState(card_token: string): Promise<string | undefined> {
  const [row] = await h.app.postgres.sql<
    { state: string }[]
  >`select state from cards where card_token = ${card_token}`;
  return row?.state;
}

async function recorded(event_token: string): Promise<string | undefined> {
  const [row] = await h.app.postgres.sql<{ outcome: string }[]>`
    select outcome from marqeta_transitions where event_token = ${event_token}`;
  return row?.outcome;
}

describe('card transitions', () => {
  it('SUSPENDED: the data of record and Redis follow, and the next authorization declines card_not_active', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql);
    await cacheCard(h, card.card_token);
    expect(await decide(h, card)).toBe('approve');
    const event = cardTransition(card.card_token, 'SUSPENDED', '2026-03-01T10:00:00Z');
    await h.publishEvent('cardtransitions', event);
    expect((await handled(event.token, 'webhooks.card_transition')).outcome).toBe('applied');
    expect(await cardState(card.card_token)).toBe('suspended');
    expect(await recorded(event.token)).toBe('applied');
    expect(await decide(h, card)).toBe('card_not_active');
    // Reinstated by Marqeta later: authorizations approve again.
    const reinstated = cardTransition(card.card_token, 'ACTIVE', '2026-03-01T11:00:00Z');
    await h.publishEvent('cardtransitions', reinstated);
    await handled(reinstated.token, 'webhooks.card_transition');
    expect(await cardState(card.card_token)).toBe('active');
    expect(await decide(h, card)).toBe('approve');
    expect(
      metricValue(await h.metrics(), 'afc_webhook_consumed_total', {
        type: 'cardtransitions',
        outcome: 'applied',
      }),
    ).toBeGreaterThanOrEqual(2);
  });

  it('personal card: the personal store and Redis follow', async () => {
    const card = await seedPersonalCard(h.app.personalStore);
    await cacheCard(h, card.card_token);
    // No funds yet, but the card itself is fine.
    expect(await decide(h, card)).not.toBe('card_not_active');
    const event = cardTransition(card.card_token, 'SUSPENDED', '2026-03-01T10:00:00Z');
    await h.publishEvent('cardtransitions', event);
    expect((await handled(event.token, 'webhooks.card_transition')).outcome).toBe('applied');
    expect((await h.app.personalStore.getCard(card.card_token))?.state).toBe('suspended');
    expect(await decide(h, card)).toBe('card_not_active');
  });

  it('a newer transition to the state the card is in moves its version (the api fences its writes on it)', async () => {
    const business = await seedBusinessCard(h.app.postgres.sql);
    const version = async () => {
      const [row] = await h.app.postgres.sql<{ version: string }[]>`
        select version from cards where card_token = ${business.card_token}`;
      return Number(row?.version);
    };
    const before = await version();
    const same = cardTransition(business.card_token, 'ACTIVE', '2026-03-03T10:00:00Z');
    await h.publishEvent('cardtransitions', same);
    expect((await handled(same.token, 'webhooks.card_transition')).outcome).toBe('unchanged');
    expect(await cardState(business.card_token)).toBe('active');
    expect(await version()).toBe(before + 1);
    // A repeat and an older one move nothing.
    await h.publishEvent('cardtransitions', same);
    const older = cardTransition(business.card_token, 'ACTIVE', '2026-03-03T09:00:00Z');
    await h.publishEvent('cardtransitions', older);
    await handled(older.token, 'webhooks.card_transition');
    expect(await version()).toBe(before + 1);

    const personal = await seedPersonalCard(h.app.personalStore);
    const updated_before =
      (await h.app.personalStore.getCard(personal.card_token))?.updated_at.getTime() ?? 0;
    const personal_same = cardTransition(personal.card_token, 'ACTIVE', '2026-03-03T10:00:00Z');
    await h.publishEvent('cardtransitions', personal_same);
    expect((await handled(personal_same.token, 'webhooks.card_transition')).outcome).toBe('unchanged');
    const after = await h.app.personalStore.getCard(personal.card_token);
    expect(after?.state).toBe('active');
    expect(after?.updated_at.getTime()).toBeGreaterThan(updated_before);
  });

  it('a repeat changes nothing; an older transition is recorded and does not override a newer one', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql);
    await cacheCard(h, card.card_token);
    const newer = cardTransition(card.card_token, 'SUSPENDED', '2026-03-02T10:00:00.500Z');
    const older = cardTransition(card.card_token, 'ACTIVE', '2026-03-02T10:00:00.100Z');
    await h.publishEvent('cardtransitions', newer);
    expect((await handled(newer.token, 'webhooks.card_transition')).outcome).toBe('applied');
    await h.publishEvent('cardtransitions', older);
    expect((await handled(older.token, 'webhooks.card_transition')).outcome).toBe('superseded');
    await h.publishEvent('cardtransitions', newer);
    await waitUntil(() => logsOf(newer.token).some((line) => line.outcome === 'duplicate'), {
      message: 'the repeat handled',
    });
    expect(await cardState(card.card_token)).toBe('suspended');
    expect(await recorded(older.token)).toBe('superseded');
    expect(await decide(h, card)).toBe('card_not_active');
  });

  it('same created_time: the more restrictive state wins, in either order', async () => {
    for (const order of [
      ['ACTIVE', 'SUSPENDED'],
      ['SUSPENDED', 'ACTIVE'],
    ]) {
      const card = await seedBusinessCard(h.app.postgres.sql, 'suspended');
      for (const state of order) {
        const event = cardTransition(card.card_token, state, '2026-03-03T09:00:00Z');
        await h.publishEvent('cardtransitions', event);
        await handled(event.token, 'webhooks.card_transition');
      }
      expect(await cardState(card.card_token)).toBe('suspended');
    }
  });

  it('terminated is final; an activation of a card still being issued is left to the card issuer', async () => {
    const terminated = await seedBusinessCard(h.app.postgres.sql, 'terminated');
    const reactivate = cardTransition(terminated.card_token, 'ACTIVE', '2026-03-04T09:00:00Z');
    await h.publishEvent('cardtransitions', reactivate);
    expect((await handled(reactivate.token, 'webhooks.card_transition')).outcome).toBe('ignored');
    expect(await cardState(terminated.card_token)).toBe('terminated');
    const issuing = await seedBusinessCard(h.app.postgres.sql, 'issuing');
    const activated = cardTransition(issuing.card_token, 'ACTIVE', '2026-03-04T09:00:00Z');
    await h.publishEvent('cardtransitions', activated);
    expect((await handled(activated.token, 'webhooks.card_transition')).outcome).toBe('left_to_issuer');
    expect(await cardState(issuing.card_token)).toBe('issuing');
    // Marqeta's fulfillment announcement: no state of ours.
    const fulfilled = cardTransition(issuing.card_token, 'UNACTIVATED', '2026-03-04T08:00:00Z');
    await h.publishEvent('cardtransitions', fulfilled);
    expect((await handled(fulfilled.token, 'webhooks.card_transition')).outcome).toBe('superseded');
  });
});

describe('user transitions', () => {
  it('business: Marqeta suspends the user; their cards decline cardholder_not_active until reinstated', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql);
    await cacheCard(h, card.card_token);
    expect(await decide(h, card)).toBe('approve');
    const suspended = userTransition(card.user_token, 'SUSPENDED', '2026-03-05T10:00:00Z');
    await h.publishEvent('usertransitions', suspended);
    expect((await handled(suspended.token, 'webhooks.user_transition')).outcome).toBe('applied');
    const [user] = await h.app.postgres.sql<{ status: string; marqeta_state: string }[]>`
      select status, marqeta_state from users where user_token = ${card.user_token}`;
    // Ours stays the company's decision; Marqeta's is kept beside it.
    expect(user).toEqual({ status: 'active', marqeta_state: 'SUSPENDED' });
    expect(await decide(h, card)).toBe('cardholder_not_active');
    // A reload from the data of record (this card's real-time state lost) says the same.
    const keys = h.card_state.keys(card.user_token, card.card_token);
    await h.app.redis.del(keys.cardState, keys.cardholderState, keys.cardControls, keys.cardCounters);
    await cacheCard(h, card.card_token);
    expect(await decide(h, card)).toBe('cardholder_not_active');
    const active = userTransition(card.user_token, 'ACTIVE', '2026-03-05T11:00:00Z');
    await h.publishEvent('usertransitions', active);
    await handled(active.token, 'webhooks.user_transition');
    expect(await decide(h, card)).toBe('approve');
  });

  it('personal: the status follows Marqeta; a late, older transition does not undo a newer one', async () => {
    const card = await seedPersonalCard(h.app.personalStore);
    await cacheCard(h, card.card_token);
    const closed = userTransition(card.user_token, 'CLOSED', '2026-03-06T10:00:00Z');
    const older = userTransition(card.user_token, 'ACTIVE', '2026-03-06T09:00:00Z');
    await h.publishEvent('usertransitions', closed);
    expect((await handled(closed.token, 'webhooks.user_transition')).outcome).toBe('applied');
    await h.publishEvent('usertransitions', older);
    expect((await handled(older.token, 'webhooks.user_transition')).outcome).toBe('superseded');
    expect((await h.app.personalStore.getUser(card.user_token))?.status).toBe('closed');
    expect(await decide(h, card)).toBe('cardholder_not_active');
  });
});

// Every order of a history, with its first event delivered again at the end: the handler itself
// (the queue adds nothing to ordering), on the real PostgreSQL and Redis.
function permutations<T>(items: readonly T[]): T[][] {
  let result: T[][] = [[]];
  for (const item of items) {
    result = result.flatMap((partial) =>
      Array.from({ length: partial.length + 1 }, (_unused, i) => [
        ...partial.slice(0, i),
        item,
        ...partial.slice(i),
      ]),
    );
  }
  return result;
}

describe('any arrival order, with repeats, ends where the history delivered once in order ends', () => {
  const silent = createLogger({ name: 'order-test', level: 'silent' });
  let handler: ReturnType<typeof createWebhookEventsHandler>;
  beforeAll(() => {
    handler = createWebhookEventsHandler({
      postgres: h.app.postgres,
      sources: { sql: h.app.postgres.sql, personal_store: h.app.personalStore },
      card_state: h.card_state,
    });
  });

  async function deliver(type: string, event: Record<string, unknown> & { token: string }): Promise<void> {
    const payload: WebhookReceived = { type, event, received_at: new Date().toISOString() };
    const context: MessageContext = {
      message_id: event.token,
      routing_key: `webhook.${type}`,
      payload,
      headers: {},
      attempt: 1,
      logger: silent,
      signal: new AbortController().signal,
    };
    await handler(context);
  }

  async function deliverCardHistory(card: SeededCard, order: readonly { state: string; i: number }[]) {
    const events = order.map(({ state, i }) =>
      cardTransition(card.card_token, state, `2026-04-01T10:00:0${i}Z`, `${card.card_token}-${i}`),
    );
    for (const event of [...events, events[0]]) if (event) await deliver('cardtransitions', event);
  }

  // A few orders side by side (one card each; the subjects' locks keep them apart), as many as
  // the consumer's prefetch allows on this pool: a personal transition holds a transaction and
  // takes a second connection for the personal store.
  async function inBatches<T, R>(items: readonly T[], run: (item: T) => Promise<R>): Promise<R[]> {
    const width = Math.max(1, Math.floor(h.config.PG_POOL_MAX / 2));
    const results: R[] = [];
    for (let i = 0; i < items.length; i += width) {
      results.push(...(await Promise.all(items.slice(i, i + width).map(run))));
    }
    return results;
  }

  it('card transitions (business and personal): the newest state, in the data of record and for decisions', async () => {
    const orders = permutations(['SUSPENDED', 'ACTIVE', 'SUSPENDED'].map((state, i) => ({ state, i })));
    const business = await inBatches(orders, async (order) => {
      const card = await seedBusinessCard(h.app.postgres.sql);
      await deliverCardHistory(card, order);
      return card;
    });
    const personal = await inBatches(orders, async (order) => {
      const card = await seedPersonalCard(h.app.personalStore);
      await deliverCardHistory(card, order);
      return card;
    });
    for (const card of business) {
      expect(await cardState(card.card_token)).toBe('suspended');
      expect(await decide(h, card)).toBe('card_not_active');
    }
    for (const card of personal) {
      expect((await h.app.personalStore.getCard(card.card_token))?.state).toBe('suspended');
      expect(await decide(h, card)).toBe('card_not_active');
    }
  });

  it("user transitions (business): Marqeta's newest status", async () => {
    const history = ['SUSPENDED', 'ACTIVE', 'SUSPENDED'];
    for (const order of permutations(history.map((status, i) => ({ status, i })))) {
      const card = await seedBusinessCard(h.app.postgres.sql);
      const events = order.map(({ status, i }) =>
        userTransition(card.user_token, status, `2026-04-02T10:00:0${i}Z`, `${card.user_token}-${i}`),
      );
      for (const event of [...events, events[0]]) if (event) await deliver('usertransitions', event);
      const [user] = await h.app.postgres.sql<{ marqeta_state: string }[]>`
        select marqeta_state from users where user_token = ${card.user_token}`;
      expect(user?.marqeta_state).toBe('SUSPENDED');
      await cacheCard(h, card.card_token);
      expect(await decide(h, card)).toBe('cardholder_not_active');
    }
  });
});

describe('events this consumer does not apply', () => {
  it('unknown cards and users: acknowledged with a warning, nothing recorded, nothing parked', async () => {
    const card_event = cardTransition(nextToken('not-ours'), 'SUSPENDED', '2026-03-07T10:00:00Z');
    const user_event = userTransition(nextToken('not-ours'), 'SUSPENDED', '2026-03-07T10:00:00Z');
    await h.publishEvent('cardtransitions', card_event);
    await h.publishEvent('usertransitions', user_event);
    expect((await handled(card_event.token, 'webhooks.card_transition.unknown_card')).level).toBe('warn');
    expect((await handled(user_event.token, 'webhooks.user_transition.unknown_user')).level).toBe('warn');
    expect(await recorded(card_event.token)).toBeUndefined();
    expect(await h.app.amqp.listParked('webhook-events', 50)).toEqual([]);
  });

  it('unknown types and business transitions: acknowledged with a warning, never retried', async () => {
    const unknown = { token: nextToken('cb'), state: 'INITIATED' };
    const business = { token: nextToken('bt'), business_token: 'b-1', status: 'ACTIVE' };
    await h.publishEvent('unknown.chargebacktransitions', unknown);
    await h.publishEvent('businesstransitions', business);
    for (const token of [unknown.token, business.token]) {
      const line = await handled(token, 'webhooks.event.not_ours');
      expect(line.level).toBe('warn');
    }
    const metrics = await h.metrics();
    expect(metricValue(metrics, 'afc_webhook_consumed_total', { type: 'unknown', outcome: 'not_ours' })).toBe(
      1,
    );
    expect(
      metricValue(metrics, 'afc_webhook_consumed_total', {
        type: 'businesstransitions',
        outcome: 'not_ours',
      }),
    ).toBe(1);
    expect(logsOf(unknown.token).filter((line) => line.event === 'amqp.consumer.failed')).toEqual([]);
  });
});

describe('events that cannot be applied: retried, then parked with the reason', () => {
  it('a transition without created_time, and a suspension of a card not issued here yet', async () => {
    const issuing = await seedBusinessCard(h.app.postgres.sql, 'issuing');
    const malformed = { token: nextToken('bad'), card_token: issuing.card_token, state: 'SUSPENDED' };
    const early = cardTransition(issuing.card_token, 'SUSPENDED', '2026-03-08T10:00:00Z');
    await h.publishEvent('cardtransitions', malformed);
    await h.publishEvent('cardtransitions', early);
    await waitUntil(async () => (await h.app.amqp.listParked('webhook-events', 50)).length >= 2, {
      timeout_ms: 15_000,
      message: 'both parked',
    });
    const parked = await h.app.amqp.listParked('webhook-events', 50);
    const reasonOf = (token: string) => parked.find((message) => message.message_id === token);
    expect(reasonOf(malformed.token)).toMatchObject({ attempts: 3 });
    expect(reasonOf(malformed.token)?.park_reason).toMatch(/not a card transition.*created_time/);
    expect(reasonOf(early.token)).toMatchObject({ attempts: 3 });
    expect(reasonOf(early.token)?.park_reason).toMatch(/is issuing here; Marqeta made it SUSPENDED/);
    expect(await cardState(issuing.card_token)).toBe('issuing');
    expect(await recorded(early.token)).toBeUndefined();
    const metrics = await h.metrics();
    expect(
      metricValue(metrics, 'afc_webhook_consumed_total', { type: 'cardtransitions', outcome: 'invalid' }),
    ).toBe(3);
  });
});
