import { max_amount_minor, windowStarts } from '@afc/domain';
import type { RedisClient } from '@afc/redis';
import { createTestRedisPrefix } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CardStateStore } from '../src/index.ts';
import {
  authorization,
  business_card,
  closeClients,
  freshCard,
  informative,
  now_ms,
  outboxEvents,
  personal_card,
  seed,
  sharedRedis,
  storeOn,
} from './helpers.ts';

const prefix = createTestRedisPrefix();
let redis: RedisClient;
let store: CardStateStore;

beforeAll(async () => {
  redis = await sharedRedis(prefix.prefix);
  store = await storeOn(redis);
});

afterAll(async () => {
  await closeClients([redis]);
  await prefix.cleanup();
});

describe('integers stay exact through Lua doubles and JSON', () => {
  it("Redis' cjson would round them (why the scripts encode numbers with %d)", async () => {
    const encoded = await redis.eval('return cjson.encode({ n = 124456789012345 })', 0);
    expect(encoded).not.toBe('{"n":124456789012345}');
  });

  it('sums past 10^14 in counters, holds, wallets and events keep every digit', async () => {
    const s = windowStarts(now_ms);
    const big = 123_456_789_012_345;
    const card = freshCard(business_card);
    await seed(store, {
      card,
      counters: {
        day: { start: s.day, amount_minor: big, count: 7 },
        week: { start: s.week, amount_minor: big * 10, count: 7 },
        month: { start: s.month, amount_minor: 9_000_000_000_000_000, count: 7 },
      },
    });
    const request = authorization(card, { amount_minor: max_amount_minor - 1 });
    expect(await store.decide(request)).toMatchObject({
      outcome: 'approve',
      hold: { amount_minor: max_amount_minor - 1 },
    });
    const key = store.keys(card.user_token, card.card_token).cardCounters;
    expect(await redis.hmget(key, 'day_amount', 'week_amount', 'month_amount')).toEqual([
      '124456789012344',
      '1235567890123449',
      '9000999999999999',
    ]);
    await store.apply(
      informative(card, 'advice', { original_jit_token: request.jit_token, amount_minor: max_amount_minor }),
    );
    const hold_text = await redis.get(
      store.keys(card.user_token, card.card_token).holdKey(request.jit_token),
    );
    expect(hold_text).toContain('"amount_minor":1000000000000');
    const events = (await outboxEvents(redis, store, card.user_token)).filter(
      (e) => e.jit_token === request.jit_token,
    );
    expect(events[0]?.counter_deltas[0]?.amount_minor).toBe(999_999_999_999);
    expect((await store.readState(card.user_token, card.card_token)).counters?.month.amount_minor).toBe(
      9_001_000_000_000_000,
    );
  });

  it('a wallet near 2^53 moves by exact minor units', async () => {
    const card = freshCard(personal_card);
    const available = Number.MAX_SAFE_INTEGER - 2;
    await seed(store, { card, balance: { available_minor: available, held_minor: 3 } });
    await store.decide(authorization(card, { amount_minor: max_amount_minor }));
    expect((await store.readState(card.user_token, card.card_token)).balance).toEqual({
      available_minor: available - max_amount_minor,
      held_minor: max_amount_minor + 3,
    });
    const key = store.keys(card.user_token, card.card_token).userBalance;
    expect(await redis.hget(key, 'available')).toBe(String(available - max_amount_minor));
  });
});
