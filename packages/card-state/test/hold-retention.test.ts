import type { RedisClient } from '@afc/redis';
import { createTestRedisPrefix } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CardStateStore, closed_hold_ttl_s, defineHoldScripts, type HoldScripts } from '../src/index.ts';
import {
  authorization,
  business_card,
  closeClients,
  declinedBy,
  freshCard,
  informative,
  partitions,
  seed,
  sharedRedis,
  storeOn,
} from './helpers.ts';

// A hold that still holds money never expires in Redis; one that holds nothing is kept
// closed_hold_ttl_s and then goes (lib.lua store_hold). Redis would otherwise keep every hold
// ever approved.
const prefix = createTestRedisPrefix();
let redis: RedisClient;
let store: CardStateStore;
let holds: HoldScripts;

beforeAll(async () => {
  redis = await sharedRedis(prefix.prefix);
  store = await storeOn(redis, 'counters_unchanged');
  holds = await defineHoldScripts(redis, partitions);
});

afterAll(async () => {
  await closeClients([redis]);
  await prefix.cleanup();
});

// -1: no TTL (open); a positive number: kept that many more seconds (closed); -2: no key.
async function holdTtl(card: typeof business_card, jit_token: string): Promise<number> {
  return redis.ttl(store.keys(card.user_token, card.card_token).holdKey(jit_token));
}

function closedTtl(ttl: number): boolean {
  // The script set it moments ago: never more than the TTL, and not a minute less.
  return ttl <= closed_hold_ttl_s && ttl > closed_hold_ttl_s - 60;
}

async function approvedHold(card: typeof business_card, amount_minor = 1_000) {
  const request = authorization(card, { amount_minor });
  const result = await store.decide(request);
  expect(result.status === 'decided' && result.outcome).toBe('approve');
  return request;
}

describe('hold retention', () => {
  it('an open hold has no TTL; released in full it is kept closed_hold_ttl_s; an advice opens it again', async () => {
    const card = freshCard(business_card);
    await seed(store, { card });
    const auth = await approvedHold(card);
    expect(await holdTtl(card, auth.jit_token)).toBe(-1);

    const link = { original_jit_token: auth.jit_token };
    await store.apply(informative(card, 'reversal', { ...link, amount_minor: 400 }));
    expect(await holdTtl(card, auth.jit_token)).toBe(-1);
    await store.apply(informative(card, 'reversal', { ...link, amount_minor: 600 }));
    expect(closedTtl(await holdTtl(card, auth.jit_token))).toBe(true);

    const advice = await store.apply(informative(card, 'advice', { ...link, amount_minor: 700 }));
    expect(advice.status === 'applied' && advice.note).toBe('advice_raised');
    expect(await holdTtl(card, auth.jit_token)).toBe(-1);
  });

  it('cleared in full, or in part and then cleared again past it, the closed hold keeps its TTL', async () => {
    const card = freshCard(business_card);
    await seed(store, { card });
    const auth = await approvedHold(card);
    const link = { original_jit_token: auth.jit_token };
    await store.apply(informative(card, 'clearing', { ...link, amount_minor: 1_000 }));
    expect(closedTtl(await holdTtl(card, auth.jit_token))).toBe(true);
    const tip = await store.apply(informative(card, 'clearing', { ...link, amount_minor: 150 }));
    expect(tip.status === 'applied' && tip.note).toBe('over_captured');
    expect(closedTtl(await holdTtl(card, auth.jit_token))).toBe(true);
  });

  it('a final clearing of part of the hold closes it', async () => {
    const card = freshCard(business_card);
    await seed(store, { card });
    const auth = await approvedHold(card);
    const final = informative(card, 'clearing', {
      original_jit_token: auth.jit_token,
      amount_minor: 300,
      final: true,
    });
    const result = await store.apply(final);
    expect(result.status === 'applied' && result.released_minor).toBe(700);
    expect(closedTtl(await holdTtl(card, auth.jit_token))).toBe(true);
  });

  it('an expired hold is kept closed; an incremental undone by a timeout release leaves its original open', async () => {
    const card = freshCard(business_card);
    await seed(store, { card });
    const expiring = await approvedHold(card);
    const expired = await holds.expireHold(card.user_token, card.card_token, expiring.jit_token);
    expect(expired.movement.action).toBe('released');
    expect(closedTtl(await holdTtl(card, expiring.jit_token))).toBe(true);

    const original = await approvedHold(card);
    const incremental = authorization(card, {
      kind: 'incremental',
      method: 'pgfs.authorization.incremental',
      original_jit_token: original.jit_token,
      amount_minor: 200,
    });
    await store.decide(incremental);
    const released = await store.releaseAfterTimeout(declinedBy('timeout', incremental));
    expect(released.status).toBe('released');
    expect(await holdTtl(card, original.jit_token)).toBe(-1);
  });

  it('a rebuilt hold is written open when it holds money and with the TTL when it holds nothing', async () => {
    const card = freshCard(business_card);
    const base = {
      card_token: card.card_token,
      user_token: card.user_token,
      program: card.program,
      released_minor: 0,
      on_expiry: 'release' as const,
    };
    const open = { ...base, jit_token: `open-${card.card_token}`, amount_minor: 500, authorized_minor: 500 };
    const counted = [{ day_start: 0, week_start: 0, month_start: 0, amount_minor: 500, count: 1 }];
    expect(await holds.restoreHold({ ...open, captured_minor: 0, counted })).toBe(true);
    expect(await holdTtl(card, open.jit_token)).toBe(-1);
    const closed = {
      ...base,
      jit_token: `closed-${card.card_token}`,
      amount_minor: 0,
      authorized_minor: 500,
    };
    expect(await holds.restoreHold({ ...closed, captured_minor: 500, counted: [] })).toBe(true);
    expect(closedTtl(await holdTtl(card, closed.jit_token))).toBe(true);
  });
});
