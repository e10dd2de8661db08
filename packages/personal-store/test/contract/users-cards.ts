import { describe, expect, it } from 'vitest';
import type { CardState, PersonalStore } from '../../src/index.ts';
import { currency, expectCode, manualClock, newUser, type StoreFactory, token } from './helpers.ts';

export function usersContract(store: () => PersonalStore, open: StoreFactory): void {
  describe('users', () => {
    it('creates a user with defaults and an empty wallet in its currency', async () => {
      const user_token = token('u');
      const created = await store().createUser({
        user_token,
        email: 'ada@example.com',
        wallet_address: 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq',
        currency: 'EUR',
      });
      expect(created).toMatchObject({
        user_token,
        email: 'ada@example.com',
        kyc_status: 'pending',
        status: 'active',
      });
      expect(created.created_at).toBeInstanceOf(Date);
      expect(await store().getUser(user_token)).toEqual(created);
      expect(await store().getWallet(user_token)).toEqual({
        user_token,
        currency: 'EUR',
        available_minor: 0,
        held_minor: 0,
        version: 0,
      });
    });

    it('refuses a second user with the same token and leaves the first as it was', async () => {
      const first = await newUser(store());
      await expectCode(
        store().createUser({
          user_token: first.user_token,
          email: 'x@example.com',
          wallet_address: 'w',
          currency: 'GBP',
        }),
        'AFC_PERSONAL_CONFLICT',
      );
      expect(await store().getUser(first.user_token)).toEqual(first);
      expect((await store().getWallet(first.user_token))?.currency).toBe(currency);
    });

    it('answers null for an unknown user and wallet', async () => {
      expect(await store().getUser(token('nobody'))).toBeNull();
      expect(await store().getWallet(token('nobody'))).toBeNull();
    });

    it('updates KYC status and status, and keeps a closed user closed', async () => {
      const user = await newUser(store());
      const verified = await store().updateUser(user.user_token, { kyc_status: 'verified' });
      expect(verified).toMatchObject({ kyc_status: 'verified', status: 'active' });
      const suspended = await store().updateUser(user.user_token, { status: 'suspended' });
      expect(suspended).toMatchObject({ kyc_status: 'verified', status: 'suspended' });
      expect(suspended.updated_at.getTime()).toBeGreaterThanOrEqual(user.created_at.getTime());
      await store().updateUser(user.user_token, { status: 'closed' });
      await expectCode(store().updateUser(user.user_token, { status: 'active' }), 'AFC_PERSONAL_CONFLICT');
      // Staying closed and correcting KYC are still allowed.
      expect(
        await store().updateUser(user.user_token, { status: 'closed', kyc_status: 'rejected' }),
      ).toMatchObject({
        status: 'closed',
        kyc_status: 'rejected',
      });
      expect((await store().getUser(user.user_token))?.status).toBe('closed');
    });

    // updated_at is the cardholder's version in Redis, which keeps only a newer version: two
    // status changes in one millisecond must not leave the first one there (a suspended user
    // who could still spend).
    it('gives every change of a user a later updated_at, even within one millisecond', async () => {
      const t = Date.UTC(2024, 6, 1);
      const clock = manualClock(t);
      const frozen = await open({ now: clock.now });
      try {
        const user = await newUser(frozen);
        const versions = [user.updated_at.getTime()];
        for (const input of [
          { kyc_status: 'verified' },
          { status: 'suspended' },
          { status: 'active' },
        ] as const) {
          versions.push((await frozen.updateUser(user.user_token, input)).updated_at.getTime());
        }
        // A clock that went back does not take the version back with it.
        clock.set(t - 60_000);
        versions.push(
          (await frozen.updateUser(user.user_token, { status: 'suspended' })).updated_at.getTime(),
        );
        for (let i = 1; i < versions.length; i += 1) {
          expect(versions[i]).toBeGreaterThan(versions[i - 1] ?? Number.POSITIVE_INFINITY);
        }
        expect((await frozen.getUser(user.user_token))?.updated_at.getTime()).toBe(versions.at(-1));
        // A clock that moves on is followed again.
        clock.set(t + 60_000);
        const later = await frozen.updateUser(user.user_token, { status: 'active' });
        expect(later.updated_at.getTime()).toBe(t + 60_000);
      } finally {
        await frozen.close();
      }
    });

    it('reports an unknown user on update, and bad input without writing', async () => {
      await expectCode(
        store().updateUser(token('nobody'), { status: 'suspended' }),
        'AFC_PERSONAL_NOT_FOUND',
      );
      const user_token = token('u');
      await expectCode(
        store().createUser({ user_token, email: 'no-at-sign', wallet_address: 'w', currency }),
        'AFC_PERSONAL_INVALID_INPUT',
      );
      await expectCode(
        store().createUser({ user_token, email: 'a@example.com', wallet_address: 'w', currency: 'usd' }),
        'AFC_PERSONAL_INVALID_INPUT',
      );
      expect(await store().getUser(user_token)).toBeNull();
      await expectCode(store().updateUser(user_token, {}), 'AFC_PERSONAL_INVALID_INPUT');
    });
  });
}

export function cardsContract(store: () => PersonalStore): void {
  const cardFor = (user_token: string, card_token = token('c')) => ({
    card_token,
    user_token,
    state: 'unactivated' as const,
    currency,
    expiration_month: 9,
    expiration_year: 2031,
    last_four: '4242',
  });

  describe('cards', () => {
    it('creates, gets, lists oldest first and changes state', async () => {
      const user = await newUser(store());
      // Created in this order; if both get the same millisecond, the token breaks the tie the same way.
      const base = token('c');
      const first = await store().createCard(cardFor(user.user_token, `${base}-a`));
      const second = await store().createCard({
        ...cardFor(user.user_token, `${base}-b`),
        last_four: '0005',
      });
      expect(first).toMatchObject({
        user_token: user.user_token,
        state: 'unactivated',
        expiration_year: 2031,
      });
      expect(await store().getCard(first.card_token)).toEqual(first);
      const listed = await store().listCards(user.user_token);
      expect(listed.map((card) => card.card_token)).toEqual([first.card_token, second.card_token]);
      const active = await store().setCardState(first.card_token, 'active');
      expect(active.state).toBe('active');
      expect((await store().getCard(first.card_token))?.state).toBe('active');
      expect(await store().listCards(token('nobody'))).toEqual([]);
    });

    it('refuses a duplicate card token and a card for an unknown user', async () => {
      const user = await newUser(store());
      const card = await store().createCard(cardFor(user.user_token));
      const other = await newUser(store());
      await expectCode(
        store().createCard(cardFor(other.user_token, card.card_token)),
        'AFC_PERSONAL_CONFLICT',
      );
      expect(await store().getCard(card.card_token)).toEqual(card);
      const orphan = cardFor(token('nobody'));
      await expectCode(store().createCard(orphan), 'AFC_PERSONAL_NOT_FOUND');
      expect(await store().getCard(orphan.card_token)).toBeNull();
      await expectCode(
        store().createCard({ ...cardFor(user.user_token), last_four: '42' }),
        'AFC_PERSONAL_INVALID_INPUT',
      );
    });

    it('keeps a terminated card terminated, and reports an unknown card', async () => {
      const user = await newUser(store());
      const card = await store().createCard(cardFor(user.user_token));
      await store().setCardState(card.card_token, 'terminated');
      await expectCode(store().setCardState(card.card_token, 'active'), 'AFC_PERSONAL_CONFLICT');
      expect((await store().getCard(card.card_token))?.state).toBe('terminated');
      expect((await store().setCardState(card.card_token, 'terminated')).state).toBe('terminated');
      await expectCode(store().setCardState(token('nocard'), 'active'), 'AFC_PERSONAL_NOT_FOUND');
      expect(await store().getCard(token('nocard'))).toBeNull();
    });
  });

  describe('setCardStateIfUnchanged', () => {
    it('sets the state while the card is the version read, with a later updated_at', async () => {
      const user = await newUser(store());
      const card = await store().createCard(cardFor(user.user_token));
      const result = await store().setCardStateIfUnchanged(card.card_token, 'active', card.updated_at);
      expect(result.changed).toBe(true);
      expect(result.card).toMatchObject({ ...card, state: 'active', updated_at: expect.any(Date) });
      expect(result.card.updated_at.getTime()).toBeGreaterThan(card.updated_at.getTime());
      expect(await store().getCard(card.card_token)).toEqual(result.card);
      // The version just written is the one to fence the next change with.
      const next = await store().setCardStateIfUnchanged(
        card.card_token,
        'suspended',
        result.card.updated_at,
      );
      expect(next).toMatchObject({ changed: true, card: { state: 'suspended' } });
    });

    it('clears the reason of a failed card it moves, like setCardState', async () => {
      const user = await newUser(store());
      const card = await store().createCard(cardFor(user.user_token));
      const failed = await store().recordCardIssueFailed(card.card_token, 'retries exhausted');
      const result = await store().setCardStateIfUnchanged(card.card_token, 'active', failed.card.updated_at);
      expect(result).toMatchObject({ changed: true, card: { state: 'active', failure_reason: null } });
      expect(await store().getCard(card.card_token)).toEqual(result.card);
    });

    it('writes nothing once another write moved updated_at, and answers the card as it is', async () => {
      const user = await newUser(store());
      const card = await store().createCard(cardFor(user.user_token));
      const moved = await store().setCardState(card.card_token, 'suspended');
      expect(await store().setCardStateIfUnchanged(card.card_token, 'active', card.updated_at)).toEqual({
        changed: false,
        card: moved,
      });
      // Millisecond precision: one millisecond either side is another version.
      for (const off_ms of [-1, 1]) {
        const near = new Date(moved.updated_at.getTime() + off_ms);
        expect(await store().setCardStateIfUnchanged(card.card_token, 'active', near)).toEqual({
          changed: false,
          card: moved,
        });
      }
      expect(await store().getCard(card.card_token)).toEqual(moved);
    });

    it('lets exactly one of concurrent writers fenced on the same version through', async () => {
      const user = await newUser(store());
      const card = await store().createCard(cardFor(user.user_token));
      const states: CardState[] = ['active', 'suspended', 'terminated', 'active', 'suspended', 'terminated'];
      const results = await Promise.all(
        states.map((state) => store().setCardStateIfUnchanged(card.card_token, state, card.updated_at)),
      );
      const winners = results.filter((result) => result.changed);
      expect(winners).toHaveLength(1);
      expect(await store().getCard(card.card_token)).toEqual(winners[0]?.card);
    });

    it('never leaves terminated, but may terminate again', async () => {
      const user = await newUser(store());
      const card = await store().createCard(cardFor(user.user_token));
      const terminated = await store().setCardState(card.card_token, 'terminated');
      for (const state of ['active', 'suspended', 'unactivated'] as const) {
        expect(await store().setCardStateIfUnchanged(card.card_token, state, terminated.updated_at)).toEqual({
          changed: false,
          card: terminated,
        });
      }
      expect(await store().getCard(card.card_token)).toEqual(terminated);
      const again = await store().setCardStateIfUnchanged(
        card.card_token,
        'terminated',
        terminated.updated_at,
      );
      expect(again.changed).toBe(true);
      expect(again.card.state).toBe('terminated');
      expect(again.card.updated_at.getTime()).toBeGreaterThan(terminated.updated_at.getTime());
    });

    it('reports an unknown card, and refuses bad input without writing', async () => {
      await expectCode(
        store().setCardStateIfUnchanged(token('nocard'), 'active', new Date()),
        'AFC_PERSONAL_NOT_FOUND',
      );
      const user = await newUser(store());
      const card = await store().createCard(cardFor(user.user_token));
      const bad = [
        store().setCardStateIfUnchanged('has space', 'active', card.updated_at),
        store().setCardStateIfUnchanged('', 'active', card.updated_at),
        // 'failed' carries a reason: only recordCardIssueFailed makes one.
        store().setCardStateIfUnchanged(card.card_token, 'failed', card.updated_at),
        store().setCardStateIfUnchanged(card.card_token, 'lost' as CardState, card.updated_at),
        store().setCardStateIfUnchanged(card.card_token, 'active', new Date(Number.NaN)),
        store().setCardStateIfUnchanged(
          card.card_token,
          'active',
          card.updated_at.toISOString() as unknown as Date,
        ),
      ];
      for (const attempt of bad) await expectCode(attempt, 'AFC_PERSONAL_INVALID_INPUT');
      expect(await store().getCard(card.card_token)).toEqual(card);
    });
  });
}
