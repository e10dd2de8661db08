import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PersonalStore, PersonalTransaction, TransactionEventInput } from '../../src/index.ts';
import { currency, expectCode, manualClock, type StoreFactory, token, withoutReplayed } from './helpers.ts';

const t0 = Date.parse('2031-03-01T12:00:00.000Z');

function authorization(jit_token: string, card_token: string, user_token: string): TransactionEventInput {
  return {
    event_id: token('ev'),
    jit_token,
    card_token,
    user_token,
    currency,
    state: 'pending',
    occurred_at: new Date(t0),
    authorized_minor: 1_250,
    merchant: {
      mid: '000000000011111',
      name: 'Corner Cafe',
      mcc: '5814',
      city: 'Lisbon',
      country_code: 'PRT',
    },
  };
}

function clearing(auth: TransactionEventInput): TransactionEventInput {
  return {
    ...auth,
    event_id: token('ev'),
    state: 'cleared',
    occurred_at: new Date(t0 + 86_400_000),
    authorized_minor: 0,
    cleared_minor: 1_250,
    merchant: { name: 'CORNER CAFE LISBOA' },
  };
}

// What does not depend on arrival order or recording time. (Merchant fields keep the first
// value seen, so they follow arrival order by design.)
function essence(transaction: PersonalTransaction) {
  const { created_at: _c, updated_at: _u, history, jit_token: _j, merchant: _m, ...rest } = transaction;
  return { ...rest, events: history.map((entry) => entry.state).sort() };
}

export function transactionEventsContract(store: () => PersonalStore): void {
  describe('transaction events', () => {
    it('keeps one record per jit_token with totals, merchant and a history entry per event', async () => {
      const [jit, card, user] = [token('jit'), token('c'), token('u')];
      const auth = authorization(jit, card, user);
      const first = await store().recordTransactionEvent(auth);
      expect(first.replayed).toBe(false);
      expect(first.transaction).toMatchObject({
        jit_token: jit,
        card_token: card,
        user_token: user,
        state: 'pending',
        authorized_minor: 1_250,
        cleared_minor: 0,
        merchant: { name: 'Corner Cafe', mcc: '5814', country_code: 'PRT' },
      });
      const cleared = await store().recordTransactionEvent(clearing(auth));
      expect(cleared.transaction).toMatchObject({
        state: 'cleared',
        authorized_minor: 1_250,
        cleared_minor: 1_250,
      });
      // The first merchant name stays: later events only fill what was missing.
      expect(cleared.transaction.merchant.name).toBe('Corner Cafe');
      expect(cleared.transaction.history.map((entry) => entry.state)).toEqual(['pending', 'cleared']);
      expect(cleared.transaction.created_at).toEqual(first.transaction.created_at);
      expect(await store().getTransaction(jit)).toEqual(cleared.transaction);
      expect(await store().getTransaction(token('nojit'))).toBeNull();
    });

    it('answers a repeated event id without adding it twice', async () => {
      const auth = authorization(token('jit'), token('c'), token('u'));
      await store().recordTransactionEvent(auth);
      const clear = clearing(auth);
      const once = await store().recordTransactionEvent(clear);
      const again = await store().recordTransactionEvent(clear);
      expect(again.replayed).toBe(true);
      expect(withoutReplayed(again)).toEqual(withoutReplayed(once));
      const concurrent = await Promise.all(
        Array.from({ length: 6 }, () =>
          store().recordTransactionEvent({ ...clear, event_id: `${clear.event_id}-x` }),
        ),
      );
      expect(concurrent.filter((result) => !result.replayed)).toHaveLength(1);
      const stored = await store().getTransaction(auth.jit_token);
      expect(stored).toMatchObject({ cleared_minor: 2_500, authorized_minor: 1_250 });
      expect(stored?.history).toHaveLength(3);
    });

    it('ends in the same record whatever order the events arrive in', async () => {
      const [card, user] = [token('c'), token('u')];
      const in_order = authorization(token('jit'), card, user);
      const out_of_order = { ...in_order, jit_token: token('jit'), event_id: token('ev') };
      await store().recordTransactionEvent(in_order);
      const a = await store().recordTransactionEvent(clearing(in_order));
      await store().recordTransactionEvent(clearing(out_of_order));
      const b = await store().recordTransactionEvent(out_of_order);
      expect(b.transaction.state).toBe('cleared');
      expect(essence(b.transaction)).toEqual(essence(a.transaction));
    });

    it('stores values that look like field paths or operators verbatim', async () => {
      const auth = authorization(`$jit${token('')}`, `$card${token('')}`, `$user${token('')}`);
      const recorded = await store().recordTransactionEvent({
        ...auth,
        merchant: { name: '$name', city: '{"$gt":""}', mid: '$$ROOT' },
      });
      expect(recorded.transaction).toMatchObject({
        jit_token: auth.jit_token,
        card_token: auth.card_token,
        merchant: { name: '$name', city: '{"$gt":""}', mid: '$$ROOT' },
      });
      expect((await store().listTransactionsByCard(auth.card_token)).items).toHaveLength(1);
    });

    it('refuses an event id or a jit_token that belongs to another transaction, card or user', async () => {
      const auth = authorization(token('jit'), token('c'), token('u'));
      const recorded = await store().recordTransactionEvent(auth);
      await expectCode(
        store().recordTransactionEvent({ ...auth, jit_token: token('jit') }),
        'AFC_PERSONAL_CONFLICT',
      );
      await expectCode(
        store().recordTransactionEvent({ ...clearing(auth), card_token: token('c') }),
        'AFC_PERSONAL_CONFLICT',
      );
      await expectCode(
        store().recordTransactionEvent({ ...clearing(auth), cleared_minor: -1 }),
        'AFC_PERSONAL_INVALID_INPUT',
      );
      expect(await store().getTransaction(auth.jit_token)).toEqual(recorded.transaction);
    });
  });
}

export function paginationContract(open: StoreFactory): void {
  describe('pagination', () => {
    const clock = manualClock(t0);
    let store: PersonalStore;
    beforeAll(async () => {
      store = await open({ now: clock.now });
    });
    afterAll(() => store.close());

    async function record(
      card_token: string,
      user_token: string,
      created_ms: number,
      jit_token = token('jit'),
    ) {
      clock.set(created_ms);
      return (await store.recordTransactionEvent(authorization(jit_token, card_token, user_token)))
        .transaction;
    }

    async function readAll(
      list: (
        cursor?: string,
      ) => Promise<{ items: readonly PersonalTransaction[]; next_cursor: string | null }>,
    ) {
      const tokens: string[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 50; pages += 1) {
        const page = await list(cursor);
        tokens.push(...page.items.map((item) => item.jit_token));
        if (page.next_cursor === null) return tokens;
        cursor = page.next_cursor;
      }
      throw new Error('pagination did not end');
    }

    it('pages newest first by (created_at, id), ties included, with no gap or repeat', async () => {
      const [card, user] = [token('c'), token('u')];
      const made: PersonalTransaction[] = [];
      // Three per millisecond: ties on created_at are broken by the token.
      for (let index = 0; index < 23; index += 1)
        made.push(await record(card, user, t0 + Math.floor(index / 3)));
      const expected = [...made]
        .sort(
          (x, y) => y.created_at.getTime() - x.created_at.getTime() || (x.jit_token < y.jit_token ? 1 : -1),
        )
        .map((item) => item.jit_token);
      expect(
        await readAll((cursor) =>
          store.listTransactionsByCard(card, { limit: 5, ...(cursor ? { cursor } : {}) }),
        ),
      ).toEqual(expected);
      expect(
        await readAll((cursor) =>
          store.listTransactionsByUser(user, { limit: 7, ...(cursor ? { cursor } : {}) }),
        ),
      ).toEqual(expected);
      const whole = await store.listTransactionsByCard(card, { limit: 23 });
      expect(whole.items.map((item) => item.jit_token)).toEqual(expected);
      expect(whole.next_cursor).toBeNull();
    });

    it('keeps a cursor stable while newer records arrive and older ones change', async () => {
      const [card, user] = [token('c'), token('u')];
      for (let index = 0; index < 10; index += 1) await record(card, user, t0 + 1_000 + index);
      const first = await store.listTransactionsByCard(card, { limit: 4 });
      const rest_before = await readAll((cursor) =>
        store.listTransactionsByCard(card, { limit: 4, cursor: cursor ?? (first.next_cursor as string) }),
      );
      await record(card, user, t0 + 5_000);
      const oldest = rest_before.at(-1) as string;
      clock.set(t0 + 6_000);
      await store.recordTransactionEvent(clearing({ ...authorization(oldest, card, user) }));
      const rest_after = await readAll((cursor) =>
        store.listTransactionsByCard(card, { limit: 4, cursor: cursor ?? (first.next_cursor as string) }),
      );
      expect(rest_after).toEqual(rest_before);
      expect(first.items).toHaveLength(4);
      expect(rest_before).toHaveLength(6);
      expect(await store.listTransactionsByCard(token('nocard'))).toEqual({ items: [], next_cursor: null });
    });

    it('lists a user across cards and refuses a cursor it did not make', async () => {
      const user = token('u');
      const a = await record(token('c'), user, t0 + 10_000);
      const b = await record(token('c'), user, t0 + 10_001);
      const page = await store.listTransactionsByUser(user);
      expect(page.items.map((item) => item.jit_token)).toEqual([b.jit_token, a.jit_token]);
      await expectCode(
        store.listTransactionsByUser(user, { cursor: 'not-a-cursor' }),
        'AFC_PERSONAL_INVALID_INPUT',
      );
      await expectCode(store.listTransactionsByUser(user, { limit: 0 }), 'AFC_PERSONAL_INVALID_INPUT');
    });
  });
}

export function lifecycleContract(open: StoreFactory): void {
  describe('ping and close', () => {
    it('answers a ping, then refuses work once closed', async () => {
      const store = await open({});
      const ping = await store.ping(2_000);
      expect(ping.ok).toBe(true);
      await store.close();
      await expectCode(store.getUser(token('u')), 'AFC_PERSONAL_CLOSED');
      await store.close();
    });
  });
}
