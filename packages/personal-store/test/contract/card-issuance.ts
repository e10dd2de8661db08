import { describe, expect, it } from 'vitest';
import type { PersonalCard, PersonalStore } from '../../src/index.ts';
import { expectCode, manualClock, newUser, type StoreFactory, token, unissued } from './helpers.ts';

const details = { last_four: '1234', expiration_month: 3, expiration_year: 2030 } as const;

export function cardIssuanceContract(store: () => PersonalStore, open: StoreFactory): void {
  describe('card issuance', () => {
    it("records Marqeta's details and activates the card once; a repeat changes nothing", async () => {
      const user = await newUser(store());
      const card = await store().createCard(unissued(user.user_token));
      expect(card).toMatchObject({ failure_reason: null, card_product_token: 'product-personal' });
      const issued = await store().recordCardIssued(card.card_token, details);
      expect(issued.changed).toBe(true);
      expect(issued.card).toMatchObject({ ...details, state: 'active', failure_reason: null });
      expect(await store().getCard(card.card_token)).toEqual(issued.card);
      const repeat = await store().recordCardIssued(card.card_token, { ...details, last_four: '9999' });
      expect(repeat).toEqual({ card: issued.card, changed: false });
    });

    it('records a failure with its reason, and a later success clears it', async () => {
      const user = await newUser(store());
      const card = await store().createCard(unissued(user.user_token));
      const failed = await store().recordCardIssueFailed(card.card_token, 'marqeta 400: invalid product');
      expect(failed).toMatchObject({
        changed: true,
        card: { state: 'failed', failure_reason: 'marqeta 400: invalid product', last_four: '0000' },
      });
      expect(await store().getCard(card.card_token)).toEqual(failed.card);
      // A parked command replayed later may still succeed.
      const issued = await store().recordCardIssued(card.card_token, details);
      expect(issued.card).toMatchObject({ state: 'active', failure_reason: null, ...details });
      const late = await store().recordCardIssueFailed(card.card_token, 'late failure');
      expect(late).toEqual({ card: issued.card, changed: false });
    });

    it('a failed card moved by a state change (Marqeta says it exists after all) loses its reason', async () => {
      const user = await newUser(store());
      const card = await store().createCard(unissued(user.user_token));
      await store().recordCardIssueFailed(card.card_token, 'retries exhausted');
      const moved = await store().setCardState(card.card_token, 'active');
      expect(moved).toMatchObject({ state: 'active', failure_reason: null });
      expect(await store().getCard(card.card_token)).toEqual(moved);
    });

    it('leaves a suspended or terminated card alone', async () => {
      const user = await newUser(store());
      for (const state of ['suspended', 'terminated'] as const) {
        const card = await store().createCard(unissued(user.user_token));
        const moved = await store().setCardState(card.card_token, state);
        expect(await store().recordCardIssued(card.card_token, details)).toEqual({
          card: moved,
          changed: false,
        });
        expect(await store().recordCardIssueFailed(card.card_token, 'x')).toEqual({
          card: moved,
          changed: false,
        });
      }
    });

    it('reports an unknown card and refuses bad input without writing', async () => {
      await expectCode(store().recordCardIssued(token('nocard'), details), 'AFC_PERSONAL_NOT_FOUND');
      await expectCode(store().recordCardIssueFailed(token('nocard'), 'x'), 'AFC_PERSONAL_NOT_FOUND');
      const user = await newUser(store());
      const card = await store().createCard(unissued(user.user_token));
      const bad = [
        store().recordCardIssued(card.card_token, { ...details, last_four: '12a4' }),
        store().recordCardIssued(card.card_token, { ...details, expiration_month: 13 }),
        store().recordCardIssued(card.card_token, { ...details, expiration_year: 1999 }),
        store().recordCardIssueFailed(card.card_token, ''),
        store().recordCardIssueFailed(card.card_token, 'x'.repeat(501)),
        // 'failed' always carries a reason: neither a plain state change nor a create makes one.
        store().setCardState(card.card_token, 'failed'),
        store().createCard({ ...unissued(user.user_token), state: 'failed' }),
        store().createCard({ ...unissued(user.user_token), card_product_token: 'has space' }),
      ];
      for (const attempt of bad) await expectCode(attempt, 'AFC_PERSONAL_INVALID_INPUT');
      expect(await store().getCard(card.card_token)).toEqual(card);
      expect(await store().listCards(user.user_token)).toEqual([card]);
    });

    it('gives every change of a card a later updated_at, even within one millisecond', async () => {
      const clock = manualClock(Date.UTC(2024, 5, 1));
      const frozen = await open({ now: clock.now });
      try {
        const user = await newUser(frozen);
        const card = await frozen.createCard(unissued(user.user_token));
        const versions = [card.updated_at.getTime()];
        versions.push(
          (await frozen.recordCardIssueFailed(card.card_token, 'first')).card.updated_at.getTime(),
        );
        versions.push((await frozen.recordCardIssued(card.card_token, details)).card.updated_at.getTime());
        versions.push((await frozen.setCardState(card.card_token, 'suspended')).updated_at.getTime());
        versions.push((await frozen.setCardState(card.card_token, 'active')).updated_at.getTime());
        const fenced = await frozen.setCardStateIfUnchanged(
          card.card_token,
          'suspended',
          new Date(versions.at(-1) ?? Number.NaN),
        );
        expect(fenced.changed).toBe(true);
        versions.push(fenced.card.updated_at.getTime());
        for (let i = 1; i < versions.length; i += 1) {
          expect(versions[i]).toBeGreaterThan(versions[i - 1] ?? Number.POSITIVE_INFINITY);
        }
        // A clock that moves on is followed again.
        clock.set(Date.UTC(2024, 5, 2));
        const later = await frozen.setCardState(card.card_token, 'suspended');
        expect(later.updated_at.getTime()).toBe(Date.UTC(2024, 5, 2));
      } finally {
        await frozen.close();
      }
    });

    it('lists cards still awaiting issuance created before a time, oldest first, bounded', async () => {
      // A past of its own: no other case creates cards then.
      const t = Date.UTC(2001, 2, 3);
      const clock = manualClock(t);
      const past = await open({ now: clock.now });
      try {
        const user = await newUser(past);
        const cards = [];
        for (let i = 0; i < 4; i += 1) {
          clock.set(t + i * 1_000);
          cards.push(await past.createCard(unissued(user.user_token)));
        }
        const [first, issued, failed, last] = cards;
        if (!first || !issued || !failed || !last) throw new Error('four cards');
        await past.recordCardIssued(issued.card_token, details);
        await past.recordCardIssueFailed(failed.card_token, 'refused');
        const tokens = async (before_ms: number, limit: number) =>
          (await past.listCardsAwaitingIssue(new Date(before_ms), limit)).map((card) => card.card_token);
        expect(await tokens(t + 10_000, 10)).toEqual([first.card_token, last.card_token]);
        expect(await tokens(t + 3_000, 10)).toEqual([first.card_token]);
        expect(await tokens(t + 10_000, 1)).toEqual([first.card_token]);
        expect(await tokens(t, 10)).toEqual([]);
        // Page by page from a cursor, ties on created_at broken by card_token.
        clock.set(t + 3_000);
        const twin = await past.createCard({
          ...unissued(user.user_token),
          card_token: `${last.card_token}z`,
        });
        const page = async (after: PersonalCard | undefined) =>
          (await past.listCardsAwaitingIssue(new Date(t + 10_000), 1, after)).map((card) => card.card_token);
        expect(await page(undefined)).toEqual([first.card_token]);
        expect(await page(first)).toEqual([last.card_token]);
        expect(await page(last)).toEqual([twin.card_token]);
        expect(await page(twin)).toEqual([]);
        await expectCode(past.listCardsAwaitingIssue(new Date(t), 0), 'AFC_PERSONAL_INVALID_INPUT');
        await expectCode(past.listCardsAwaitingIssue(new Date(Number.NaN), 1), 'AFC_PERSONAL_INVALID_INPUT');
        await expectCode(
          past.listCardsAwaitingIssue(new Date(t), 1, { created_at: new Date(Number.NaN), card_token: 'x' }),
          'AFC_PERSONAL_INVALID_INPUT',
        );
        await expectCode(
          past.listCardsAwaitingIssue(new Date(t), 1, { created_at: new Date(t), card_token: '' }),
          'AFC_PERSONAL_INVALID_INPUT',
        );
      } finally {
        await past.close();
      }
    });
  });
}
