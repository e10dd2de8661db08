import { describe, expect, it } from 'vitest';
import type { LedgerDerive, LedgerEventInput, PersonalStore, PersonalTransaction } from '../../src/index.ts';
import { currency, expectCode, newUser, token } from './helpers.ts';

const t0 = Date.parse('2031-04-01T12:00:00.000Z');

// A small rule of the caller's (settlement has the real one): sums of the events' amounts, the
// state from the set. Deliberately order-free, as the store's contract asks of derive.
const derive: LedgerDerive = (entries) => {
  const sum = (key: string) => entries.reduce((total, e) => total + Number(e.details[key] ?? 0), 0);
  const authorized = sum('held');
  const cleared = sum('captured');
  const released = sum('released');
  const times = entries.map((e) => Number(e.details.occurred_at_ms));
  return {
    state: cleared > 0 ? 'cleared' : released >= authorized && released > 0 ? 'reversed' : 'pending',
    requested_minor: authorized,
    authorized_minor: authorized,
    cleared_minor: cleared,
    reversed_minor: Math.min(released, authorized),
    refunded_minor: 0,
    decline_reason: null,
    memo: null,
    method: 'pgfs.authorization',
    network: 'VISA',
    marqeta_transaction_token: null,
    original_jit_token: null,
    merchant: { mid: 'mid-1', name: 'Cafe', mcc: '5814', city: null, country_code: 'PRT' },
    created_at: new Date(Math.min(...times)),
    expires_at: new Date(Math.min(...times) + 7 * 86_400_000),
  };
};

type Movement = { held?: number; captured?: number; released?: number };

function ledgerEvent(
  owner: { jit_token: string; card_token: string; user_token: string },
  at_ms: number,
  m: Movement,
): LedgerEventInput {
  const held = m.held ?? 0;
  const captured = m.captured ?? 0;
  const released = m.released ?? 0;
  return {
    ...owner,
    event_id: token('lev'),
    currency,
    occurred_at: new Date(at_ms),
    kind: 'test.movement',
    amount_minor: held + captured + released,
    authorized_minor: held,
    cleared_minor: captured,
    reversed_minor: released,
    refunded_minor: 0,
    details: { ...m, occurred_at_ms: at_ms },
    // As card-state moves a personal wallet: a hold takes available into held, a capture
    // spends held, a release gives held back.
    balance_delta: { available_minor: released - held, held_minor: held - captured - released },
  };
}

function essence(t: PersonalTransaction | null) {
  if (t === null) return null;
  const { history, updated_at: _u, ...rest } = t;
  return { ...rest, history: history.map((h) => h.event_id).sort() };
}

async function history(store: PersonalStore, funded: number, order: readonly number[], card_token: string) {
  const user = await newUser(store, funded);
  const owner = { jit_token: token('jit'), card_token, user_token: user.user_token };
  const events = [
    ledgerEvent(owner, t0, { held: 6_000 }),
    ledgerEvent(owner, t0 + 1_000, { released: 1_000 }),
    ledgerEvent(owner, t0 + 2_000, { captured: 5_000 }),
  ];
  const outcomes: string[] = [];
  for (const i of order) {
    const e = events[i] as LedgerEventInput;
    outcomes.push((await store.recordLedgerEvent({ ...e, jit_token: owner.jit_token }, derive)).outcome);
  }
  return { user, owner, outcomes };
}

export function ledgerContract(store: () => PersonalStore): void {
  describe('recordLedgerEvent', () => {
    it('derives the row from the set of events and moves the wallet once per event, in any order', async () => {
      const card_token = token('card');
      const in_order = await history(store(), 10_000, [0, 1, 2, 0, 2], card_token);
      expect(in_order.outcomes).toEqual(['applied', 'applied', 'applied', 'duplicate', 'duplicate']);
      // The capture arrives first (held would go negative), then the release, then the hold.
      const reordered = await history(store(), 10_000, [2, 1, 2, 0, 1], card_token);
      expect(reordered.outcomes).toEqual(['applied', 'applied', 'duplicate', 'applied', 'duplicate']);
      for (const run of [in_order, reordered]) {
        expect(await store().getWallet(run.user.user_token)).toMatchObject({
          available_minor: 5_000,
          held_minor: 0,
          version: 4,
        });
      }
      const a = await store().getTransaction(in_order.owner.jit_token);
      const b = await store().getTransaction(reordered.owner.jit_token);
      expect(a).toMatchObject({
        state: 'cleared',
        authorized_minor: 6_000,
        cleared_minor: 5_000,
        reversed_minor: 1_000,
      });
      expect(a?.history.map((h) => h.kind)).toEqual(['test.movement', 'test.movement', 'test.movement']);
      const { jit_token: _a, ...a_rest } = essence(a) ?? {};
      const { jit_token: _b, ...b_rest } = essence(b) ?? {};
      expect({ ...b_rest, user_token: '', history: [] }).toEqual({ ...a_rest, user_token: '', history: [] });
    });

    it('keeps what a wallet cannot give yet as a shortfall that a later deposit pays back', async () => {
      const user = await newUser(store(), 0);
      const owner = { jit_token: token('jit'), card_token: token('card'), user_token: user.user_token };
      // A hold before the deposit that funded it (reordered delivery): available cannot go below 0.
      await store().recordLedgerEvent(ledgerEvent(owner, t0, { held: 3_000 }), derive);
      expect(await store().getWallet(user.user_token)).toMatchObject({
        available_minor: 0,
        held_minor: 3_000,
      });
      await store().creditDeposit({
        deposit_id: token('d'),
        user_token: user.user_token,
        crypto_currency: 'USDC',
        crypto_amount: '50',
        rate: '1',
        credited_minor: 5_000,
        currency,
      });
      expect(await store().getWallet(user.user_token)).toMatchObject({
        available_minor: 2_000,
        held_minor: 3_000,
      });
    });

    it('refuses an event whose jit_token belongs to another card, changing nothing', async () => {
      const user = await newUser(store(), 1_000);
      const owner = { jit_token: token('jit'), card_token: token('card'), user_token: user.user_token };
      await store().recordLedgerEvent(ledgerEvent(owner, t0, { held: 500 }), derive);
      const before = await store().getWallet(user.user_token);
      const other = ledgerEvent({ ...owner, card_token: token('card') }, t0 + 1, { captured: 500 });
      await expectCode(store().recordLedgerEvent(other, derive), 'AFC_PERSONAL_CONFLICT');
      expect(await store().getWallet(user.user_token)).toEqual(before);
      expect((await store().getTransaction(owner.jit_token))?.history).toHaveLength(1);
    });

    it('refuses a malformed event before touching anything', async () => {
      const user = await newUser(store(), 0);
      const owner = { jit_token: token('jit'), card_token: token('card'), user_token: user.user_token };
      const bad = { ...ledgerEvent(owner, t0, { held: 1 }), amount_minor: -1 };
      await expectCode(store().recordLedgerEvent(bad, derive), 'AFC_PERSONAL_INVALID_INPUT');
      expect(await store().getTransaction(owner.jit_token)).toBeNull();
    });
  });
}
