import type { PersonalCard, PersonalStore, PersonalUser, Wallet } from '@afc/personal-store';
import type { Sql } from '@afc/postgres';
import type { RedisClient } from '@afc/redis';
import { createTestRedisPrefix } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CardStateStore, type RecordSources, refreshCardRecord } from '../src/index.ts';
import { closeClients, freshCard, now_ms, personal_card, sharedRedis, storeOn } from './helpers.ts';

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

// No business card anywhere (every query answers no rows, or fails: PostgreSQL away); one
// personal card in the store.
function personalOnly(card: PersonalCard, postgres: 'empty' | 'down' | 'stalled' = 'empty'): RecordSources {
  const at = new Date(now_ms);
  const user: PersonalUser = {
    user_token: card.user_token,
    email: 'holder@example.com',
    kyc_status: 'verified',
    wallet_address: '0x0000000000000000000000000000000000000001',
    status: 'active',
    created_at: at,
    updated_at: at,
  };
  const wallet: Wallet = {
    user_token: card.user_token,
    currency: 'USD',
    available_minor: 9_000,
    held_minor: 1_000,
    version: 4,
  };
  const personal_store = {
    getCard: async (token: string) => (token === card.card_token ? card : null),
    getUser: async (token: string) => (token === user.user_token ? user : null),
    getWallet: async (token: string) => (token === wallet.user_token ? wallet : null),
  };
  const down = async () => {
    throw new Error('connect ECONNREFUSED (PostgreSQL away)');
  };
  const stalled = () => new Promise(() => {});
  const sql = { empty: async () => [], down, stalled }[postgres];
  return {
    sql: sql as unknown as Sql,
    personal_store: personal_store as unknown as PersonalStore,
  };
}

describe('refreshCardRecord', () => {
  const base = freshCard(personal_card);
  const card: PersonalCard = {
    card_token: base.card_token,
    user_token: base.user_token,
    state: 'active',
    currency: 'USD',
    expiration_month: 6,
    expiration_year: 2030,
    last_four: '4242',
    failure_reason: null,
    card_product_token: null,
    created_at: new Date(now_ms),
    updated_at: new Date(now_ms + 1),
  };

  it('writes the card the data of record holds through to Redis and says so', async () => {
    expect(await refreshCardRecord(personalOnly(card), store, card.card_token, now_ms)).toBe(true);
    const state = await store.readState(card.user_token, card.card_token);
    expect(state.card).toMatchObject({ state: 'active', version: now_ms + 1, program: 'personal' });
    expect(state.cardholder).toMatchObject({ status: 'active' });
    expect(state.balance).toEqual({ available_minor: 9_000, held_minor: 1_000 });
  });

  it('loads a personal card while PostgreSQL is away, and fails a card it cannot place', async () => {
    const other = freshCard(personal_card);
    const moved = { ...card, card_token: other.card_token, user_token: other.user_token };
    expect(await refreshCardRecord(personalOnly(moved, 'down'), store, moved.card_token, now_ms)).toBe(true);
    // Nor waits for a PostgreSQL that does not answer.
    expect(await refreshCardRecord(personalOnly(moved, 'stalled'), store, moved.card_token, now_ms)).toBe(
      true,
    );
    // Not in the personal store, and PostgreSQL could not say: an error, never "unknown".
    const unplaced = freshCard(personal_card);
    await expect(
      refreshCardRecord(personalOnly(moved, 'down'), store, unplaced.card_token, now_ms),
    ).rejects.toThrow(/PostgreSQL away/);
  });

  it('answers false and writes nothing for a card neither program knows', async () => {
    const unknown = freshCard(personal_card);
    expect(await refreshCardRecord(personalOnly(card), store, unknown.card_token, now_ms)).toBe(false);
    const state = await store.readState(unknown.user_token, unknown.card_token);
    expect(state).toMatchObject({ card: null, cardholder: null, balance: null });
  });
});
