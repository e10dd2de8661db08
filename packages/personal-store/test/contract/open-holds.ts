import { describe, expect, it } from 'vitest';
import type { LedgerDerive, PersonalStore } from '../../src/index.ts';
import { currency, expectCode, newUser, token } from './helpers.ts';

const day_ms = 86_400_000;
// Long before every other case's rows (their holds expire in 2031): only this case's are due.
const t0 = Date.parse('1995-03-01T12:00:00.000Z');

// Order-free like settlement's rule, with the open states the listings look for.
const derive: LedgerDerive = (entries) => {
  const sum = (key: string) => entries.reduce((total, e) => total + Number(e.details[key] ?? 0), 0);
  const held = sum('held');
  const captured = sum('captured');
  const released = Math.min(sum('released'), held);
  const created_ms = Math.min(...entries.map((e) => Number(e.details.occurred_at_ms)));
  let state: 'pending' | 'partially_cleared' | 'cleared' | 'reversed' = 'pending';
  if (captured > 0) state = captured + released >= held ? 'cleared' : 'partially_cleared';
  else if (held > 0 && released >= held) state = 'reversed';
  return {
    state,
    requested_minor: held,
    authorized_minor: held,
    cleared_minor: captured,
    reversed_minor: released,
    refunded_minor: 0,
    decline_reason: null,
    memo: null,
    method: 'pgfs.authorization',
    network: null,
    marqeta_transaction_token: null,
    original_jit_token: null,
    merchant: { mid: null, name: null, mcc: null, city: null, country_code: null },
    created_at: new Date(created_ms),
    expires_at: new Date(created_ms + 7 * day_ms),
  };
};

type Movement = { held?: number; captured?: number; released?: number };

async function hold(
  store: PersonalStore,
  owner: { card_token: string; user_token: string },
  at_ms: number,
  movements: readonly Movement[],
): Promise<string> {
  const jit_token = token('jit');
  for (const [i, m] of movements.entries()) {
    const held = m.held ?? 0;
    const captured = m.captured ?? 0;
    const released = m.released ?? 0;
    await store.recordLedgerEvent(
      {
        ...owner,
        jit_token,
        event_id: `${jit_token}:${i}`,
        currency,
        occurred_at: new Date(at_ms + i),
        kind: 'test.movement',
        amount_minor: held + captured + released,
        authorized_minor: held,
        cleared_minor: captured,
        reversed_minor: released,
        refunded_minor: 0,
        details: { ...m, occurred_at_ms: at_ms + i },
        balance_delta: { available_minor: released - held, held_minor: held - captured - released },
      },
      derive,
    );
  }
  return jit_token;
}

export function openHoldsContract(store: () => PersonalStore): void {
  describe('open holds: listExpiredOpenHolds, listOpenHoldsAfter, listCardsAfter', () => {
    it('lists open holds past expiry oldest first, bounded, without closed or not-yet-due ones', async () => {
      const user = await newUser(store(), 100_000);
      const owner = { card_token: token('card'), user_token: user.user_token };
      const partial = await hold(store(), owner, t0 + 2_000, [{ held: 3_000 }, { captured: 1_000 }]);
      const pending = await hold(store(), owner, t0, [{ held: 5_000 }]);
      await hold(store(), owner, t0 + 1_000, [{ held: 700 }, { captured: 700 }]);
      await hold(store(), owner, t0 + 1_500, [{ held: 400 }, { released: 400 }]);
      const not_due = await hold(store(), owner, t0 + 3 * day_ms, [{ held: 900 }]);
      const now = new Date(t0 + 8 * day_ms);

      const due = await store().listExpiredOpenHolds(now, 10);
      expect(due.map((h) => h.jit_token)).toEqual([pending, partial]);
      expect(due[0]).toEqual({
        jit_token: pending,
        card_token: owner.card_token,
        user_token: owner.user_token,
        currency,
        state: 'pending',
        method: 'pgfs.authorization',
        authorized_minor: 5_000,
        cleared_minor: 0,
        reversed_minor: 0,
        created_at: new Date(t0),
        expires_at: new Date(t0 + 7 * day_ms),
      });
      expect(due[1]).toMatchObject({
        state: 'partially_cleared',
        authorized_minor: 3_000,
        cleared_minor: 1_000,
      });
      expect((await store().listExpiredOpenHolds(now, 1)).map((h) => h.jit_token)).toEqual([pending]);
      const later = await store().listExpiredOpenHolds(new Date(t0 + 11 * day_ms), 10);
      expect(later.map((h) => h.jit_token)).toEqual([pending, partial, not_due]);
      expect(await store().listExpiredOpenHolds(new Date(t0), 10)).toEqual([]);
    });

    it('pages through every open hold and every card by token', async () => {
      const user = await newUser(store(), 100_000);
      const cards = [token('card'), token('card'), token('card')];
      for (const card_token of cards) {
        await store().createCard({
          card_token,
          user_token: user.user_token,
          state: 'active',
          currency,
          expiration_month: 12,
          expiration_year: 2099,
          last_four: '4242',
        });
      }
      const owner = { card_token: cards[0] as string, user_token: user.user_token };
      const open = [
        await hold(store(), owner, t0 + 20 * day_ms, [{ held: 100 }]),
        await hold(store(), owner, t0 + 20 * day_ms, [{ held: 200 }, { captured: 50 }]),
      ];
      const closed = await hold(store(), owner, t0 + 20 * day_ms, [{ held: 300 }, { released: 300 }]);
      const holds: string[] = [];
      for (let after = '', page = await store().listOpenHoldsAfter(after, 2); page.length > 0; ) {
        holds.push(...page.map((h) => h.jit_token));
        after = page.at(-1)?.jit_token ?? after;
        page = await store().listOpenHoldsAfter(after, 2);
      }
      expect(holds).toEqual([...holds].sort());
      expect(holds).toEqual(expect.arrayContaining(open));
      expect(holds).not.toContain(closed);
      const listed: string[] = [];
      for (let after = '', page = await store().listCardsAfter(after, 2); page.length > 0; ) {
        listed.push(...page.map((c) => c.card_token));
        after = page.at(-1)?.card_token ?? after;
        page = await store().listCardsAfter(after, 2);
      }
      expect(listed).toEqual([...listed].sort());
      expect(new Set(listed).size).toBe(listed.length);
      expect(listed).toEqual(expect.arrayContaining(cards));
    });

    it('refuses unbounded or malformed listings', async () => {
      const now = new Date(t0);
      await expectCode(store().listExpiredOpenHolds(now, 0), 'AFC_PERSONAL_INVALID_INPUT');
      await expectCode(store().listExpiredOpenHolds(now, 1_001), 'AFC_PERSONAL_INVALID_INPUT');
      await expectCode(store().listExpiredOpenHolds(new Date(Number.NaN), 1), 'AFC_PERSONAL_INVALID_INPUT');
      await expectCode(store().listOpenHoldsAfter('', 0), 'AFC_PERSONAL_INVALID_INPUT');
      await expectCode(store().listOpenHoldsAfter('bad token', 1), 'AFC_PERSONAL_INVALID_INPUT');
      await expectCode(store().listCardsAfter('', 1_001), 'AFC_PERSONAL_INVALID_INPUT');
    });
  });
}
