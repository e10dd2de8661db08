import type { CardRecord, RecordSources } from '@afc/card-state';
import type { Logger } from '@afc/log';
import type { PersonalStore } from '@afc/personal-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OnUnknownCard, StateLoader, type StateWriter } from '../src/state/state-loader.ts';
import { type Harness, nextToken, startAuthorizer } from './harness.ts';
import { seedBusinessCard } from './seed.ts';

// The loader on the real data of record (PostgreSQL and the personal store); what it writes is
// recorded by a writer of our own interface, and its reads counted at the personal store (asked
// for every card PostgreSQL does not know).

let h: Harness;

beforeAll(async () => {
  h = await startAuthorizer();
});
afterAll(async () => h.close());

const now_ms = Date.UTC(2026, 10, 22, 12);
const answer_ttl_ms = 5_000;

function loaderOn(answers_max = 100) {
  const writes: string[] = [];
  const reads = { count: 0 };
  const personal_store = new Proxy(h.app.personalStore, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== 'getCard' || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        reads.count += 1;
        return value.apply(target, args);
      };
    },
  }) as PersonalStore;
  const sources: RecordSources = { sql: h.app.postgres.sql, personal_store };
  const writer: StateWriter = {
    writeRecord: async (record: CardRecord) => {
      writes.push(`record ${record.card.card_token}`);
    },
    writeUnknownCard: async (user_token, card_token) => {
      writes.push(`unknown ${user_token} ${card_token}`);
    },
  };
  const loader = new StateLoader({
    sources,
    writer,
    logger: h.app.log as Logger,
    max_concurrent_loads: 8,
    unknown_card_ttl_s: 60,
    unknown_answer_ttl_ms: answer_ttl_ms,
    unknown_answers_max: answers_max,
  });
  return { loader, writes, reads };
}

const nobody = () => ({ user: nextToken('no-user'), card: nextToken('no-card') });

describe('StateLoader', () => {
  it('a decision about an unknown card writes nothing and is answered from memory for a while', async () => {
    const { loader, writes, reads } = loaderOn();
    const { user, card } = nobody();
    expect(await loader.load(user, card, now_ms, 'answer')).toBe('unknown');
    expect(reads.count).toBe(1);
    expect(await loader.load(user, card, now_ms + answer_ttl_ms - 1, 'answer')).toBe('unknown');
    expect(reads.count).toBe(1);
    expect(await loader.load(user, card, now_ms + answer_ttl_ms, 'answer')).toBe('unknown');
    expect(reads.count).toBe(2);
    expect(writes).toEqual([]);
  });

  it("a decision naming another cardholder writes nothing, not even the owner's record", async () => {
    const { loader, writes } = loaderOn();
    const owned = await seedBusinessCard(h.app.postgres.sql);
    const other = nextToken('other-user');
    expect(await loader.load(other, owned.card_token, now_ms, 'answer')).toBe('another_cardholder');
    expect(writes).toEqual([]);
    expect(await loader.load(owned.user_token, owned.card_token, now_ms, 'answer')).toBe('loaded');
    expect(writes).toEqual([`record ${owned.card_token}`]);
  });

  it("an informative message marks the card unknown in its cardholder's partition, and loads the owner's", async () => {
    const { loader, writes } = loaderOn();
    const { user, card } = nobody();
    expect(await loader.load(user, card, now_ms, 'remember')).toBe('unknown');
    const owned = await seedBusinessCard(h.app.postgres.sql);
    const other = nextToken('other-user');
    expect(await loader.load(other, owned.card_token, now_ms, 'remember')).toBe('another_cardholder');
    expect(writes).toEqual([
      `unknown ${user} ${card}`,
      `record ${owned.card_token}`,
      `unknown ${other} ${owned.card_token}`,
    ]);
  });

  it("a decision and an informative message at once each get their own load: only the message's writes", async () => {
    const { loader, writes, reads } = loaderOn();
    const { user, card } = nobody();
    const both = await Promise.all(
      (['answer', 'remember', 'answer'] as OnUnknownCard[]).map((on_unknown) =>
        loader.load(user, card, now_ms, on_unknown),
      ),
    );
    expect(both).toEqual(['unknown', 'unknown', 'unknown']);
    // One load per purpose: the second decision shared the first's.
    expect(reads.count).toBe(2);
    expect(writes).toEqual([`unknown ${user} ${card}`]);
  });

  it('remembers at most unknown_answers_max answers, forgetting the oldest first', async () => {
    const { loader, reads } = loaderOn(2);
    const cards = [nobody(), nobody(), nobody()];
    for (const { user, card } of cards) await loader.load(user, card, now_ms, 'answer');
    expect(reads.count).toBe(3);
    const [first, , third] = cards;
    if (first === undefined || third === undefined) throw new Error('three cards');
    await loader.load(third.user, third.card, now_ms, 'answer');
    expect(reads.count).toBe(3);
    await loader.load(first.user, first.card, now_ms, 'answer');
    expect(reads.count).toBe(4);
  });
});
