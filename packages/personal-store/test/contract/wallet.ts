import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BalanceChangeInput, BalanceChangeResult, PersonalStore } from '../../src/index.ts';
import { currency, expectCode, newUser, token, withoutReplayed } from './helpers.ts';
import { type ModelKind, type ModelOutcome, type ModelWallet, modelApply } from './model.ts';

function change(
  user_token: string,
  kind: BalanceChangeInput['kind'],
  amount_minor: number,
): BalanceChangeInput {
  return { change_id: token('ch'), user_token, kind, amount_minor, currency };
}

export function depositsContract(store: () => PersonalStore): void {
  describe('deposits', () => {
    it('credits once per deposit_id and keeps both sides of the conversion', async () => {
      const user = await newUser(store());
      const input = {
        deposit_id: token('d'),
        user_token: user.user_token,
        crypto_currency: 'ETH',
        crypto_amount: '0.012345678901234567',
        rate: '3241.5',
        credited_minor: 4_002,
        currency,
      };
      const first = await store().creditDeposit(input);
      expect(first.replayed).toBe(false);
      expect(first.deposit).toMatchObject({ ...input });
      expect(first.wallet).toMatchObject({ available_minor: 4_002, held_minor: 0, version: 1 });
      const later = await store().creditDeposit({ ...input, deposit_id: token('d'), credited_minor: 1_000 });
      expect(later.wallet.available_minor).toBe(5_002);
      // A repeat answers as the first time (the wallet as it was then) and credits nothing.
      const repeat = await store().creditDeposit(input);
      expect(repeat.replayed).toBe(true);
      expect(withoutReplayed(repeat)).toEqual(withoutReplayed(first));
      expect(await store().getWallet(user.user_token)).toMatchObject({ available_minor: 5_002, version: 2 });
    });

    it('credits a deposit once when its repeats arrive concurrently', async () => {
      const user = await newUser(store());
      const input = {
        deposit_id: token('d'),
        user_token: user.user_token,
        crypto_currency: 'USDC',
        crypto_amount: '25.00',
        rate: '1.0000',
        credited_minor: 2_500,
        currency,
      };
      const results = await Promise.all(Array.from({ length: 8 }, () => store().creditDeposit(input)));
      expect(results.filter((result) => !result.replayed)).toHaveLength(1);
      for (const result of results)
        expect(withoutReplayed(result)).toEqual(withoutReplayed(results[0] as typeof result));
      expect(await store().getWallet(user.user_token)).toMatchObject({ available_minor: 2_500, version: 1 });
    });

    it('refuses a reused deposit_id with other content, another currency, an unknown user', async () => {
      const user = await newUser(store());
      const input = {
        deposit_id: token('d'),
        user_token: user.user_token,
        crypto_currency: 'BTC',
        crypto_amount: '0.001',
        rate: '65000.00',
        credited_minor: 6_500,
        currency,
      };
      await store().creditDeposit(input);
      await expectCode(store().creditDeposit({ ...input, credited_minor: 6_501 }), 'AFC_PERSONAL_CONFLICT');
      await expectCode(
        store().creditDeposit({ ...input, deposit_id: token('d'), currency: 'EUR' }),
        'AFC_PERSONAL_CONFLICT',
      );
      await expectCode(
        store().creditDeposit({ ...input, deposit_id: token('d'), user_token: token('nobody') }),
        'AFC_PERSONAL_NOT_FOUND',
      );
      await expectCode(
        store().creditDeposit({ ...input, deposit_id: token('d'), crypto_amount: '1e-3' }),
        'AFC_PERSONAL_INVALID_INPUT',
      );
      expect(await store().getWallet(user.user_token)).toMatchObject({ available_minor: 6_500, version: 1 });
    });
  });
}

export function balanceChangesContract(store: () => PersonalStore): void {
  describe('balance changes', () => {
    it('applies hold, release, capture, refund and adjust to the right balance', async () => {
      const { user_token } = await newUser(store(), 10_000);
      const steps: [BalanceChangeInput['kind'], number, number, number][] = [
        ['hold', 2_500, 7_500, 2_500],
        ['release', 500, 8_000, 2_000],
        ['capture', 2_000, 8_000, 0],
        ['refund', 700, 8_700, 0],
        ['adjust', -200, 8_500, 0],
        ['adjust', 50, 8_550, 0],
      ];
      let version = 1;
      for (const [kind, amount, available, held] of steps) {
        version += 1;
        const result = await store().applyBalanceChange(change(user_token, kind, amount));
        expect(result).toMatchObject({ ok: true, replayed: false });
        expect(result.wallet).toEqual({
          user_token,
          currency,
          available_minor: available,
          held_minor: held,
          version,
        });
      }
      expect(await store().getWallet(user_token)).toMatchObject({
        available_minor: 8_550,
        held_minor: 0,
        version,
      });
    });

    it('declines, as a value and changing nothing, what would make a balance negative', async () => {
      const { user_token } = await newUser(store(), 1_000);
      await store().applyBalanceChange(change(user_token, 'hold', 400));
      const cases: [BalanceChangeInput['kind'], number, string][] = [
        ['hold', 601, 'insufficient_funds'],
        ['adjust', -601, 'insufficient_funds'],
        ['release', 401, 'insufficient_held'],
        ['capture', 401, 'insufficient_held'],
      ];
      for (const [kind, amount, reason] of cases) {
        const result = await store().applyBalanceChange(change(user_token, kind, amount));
        expect(result).toMatchObject({ ok: false, reason, replayed: false });
        expect(result.wallet).toMatchObject({ available_minor: 600, held_minor: 400, version: 2 });
      }
      expect(await store().getWallet(user_token)).toMatchObject({
        available_minor: 600,
        held_minor: 400,
        version: 2,
      });
    });

    it('answers a repeated change_id with its first outcome and no second effect', async () => {
      const { user_token } = await newUser(store(), 1_000);
      const hold = change(user_token, 'hold', 800);
      const first = await store().applyBalanceChange(hold);
      const repeat = await store().applyBalanceChange(hold);
      expect(repeat.replayed).toBe(true);
      expect(withoutReplayed(repeat)).toEqual(withoutReplayed(first));
      const declined_hold = change(user_token, 'hold', 500);
      const declined = await store().applyBalanceChange(declined_hold);
      expect(declined).toMatchObject({ ok: false, reason: 'insufficient_funds' });
      // Funds arrive; the declined change stays declined when repeated.
      await store().applyBalanceChange(change(user_token, 'refund', 5_000));
      const declined_again = await store().applyBalanceChange(declined_hold);
      expect(withoutReplayed(declined_again)).toEqual(withoutReplayed(declined));
      expect(await store().getWallet(user_token)).toMatchObject({
        available_minor: 5_200,
        held_minor: 800,
        version: 3,
      });
    });

    it('refuses a reused change_id with other content, another currency, an unknown wallet', async () => {
      const { user_token } = await newUser(store(), 1_000);
      const hold = change(user_token, 'hold', 100);
      await store().applyBalanceChange(hold);
      await expectCode(store().applyBalanceChange({ ...hold, amount_minor: 101 }), 'AFC_PERSONAL_CONFLICT');
      await expectCode(store().applyBalanceChange({ ...hold, kind: 'refund' }), 'AFC_PERSONAL_CONFLICT');
      await expectCode(
        store().applyBalanceChange({ ...change(user_token, 'refund', 5), currency: 'EUR' }),
        'AFC_PERSONAL_CONFLICT',
      );
      await expectCode(
        store().applyBalanceChange(change(token('nobody'), 'refund', 5)),
        'AFC_PERSONAL_NOT_FOUND',
      );
      await expectCode(
        store().applyBalanceChange(change(user_token, 'hold', 0)),
        'AFC_PERSONAL_INVALID_INPUT',
      );
      await expectCode(
        store().applyBalanceChange(change(user_token, 'hold', 1.5)),
        'AFC_PERSONAL_INVALID_INPUT',
      );
      await expectCode(
        store().applyBalanceChange(change(user_token, 'adjust', 0)),
        'AFC_PERSONAL_INVALID_INPUT',
      );
      expect(await store().getWallet(user_token)).toMatchObject({
        available_minor: 900,
        held_minor: 100,
        version: 2,
      });
    });
  });
}

function checkConserved(results: readonly BalanceChangeResult[], total_minor: number): void {
  for (const result of results) {
    expect(result.wallet.available_minor).toBeGreaterThanOrEqual(0);
    expect(result.wallet.held_minor).toBeGreaterThanOrEqual(0);
  }
  const totals = new Set(results.map((result) => result.wallet.available_minor + result.wallet.held_minor));
  expect([...totals]).toEqual([total_minor]);
}

export function concurrencyContract(store: () => PersonalStore): void {
  describe('concurrency', () => {
    it('never approves more holds than the balance covers, repeats included', async () => {
      const { user_token } = await newUser(store(), 10_000);
      const holds = Array.from({ length: 50 }, () => change(user_token, 'hold', 300));
      // The first ten are also sent a second time, concurrently with everything else.
      const calls = [...holds, ...holds.slice(0, 10)];
      const results = await Promise.all(calls.map((input) => store().applyBalanceChange(input)));
      checkConserved(results, 10_000);
      const first_outcomes = results.slice(0, 50);
      // 10_000 covers 33 holds of 300: a decline happens only once fewer than 300 remain.
      expect(first_outcomes.filter((result) => result.ok)).toHaveLength(33);
      for (let index = 0; index < 10; index += 1) {
        const original = results[index] as BalanceChangeResult;
        const repeat = results[50 + index] as BalanceChangeResult;
        expect(withoutReplayed(repeat)).toEqual(withoutReplayed(original));
        expect([original.replayed, repeat.replayed].filter(Boolean)).toHaveLength(1);
      }
      expect(await store().getWallet(user_token)).toMatchObject({
        available_minor: 100,
        held_minor: 9_900,
        version: 34,
      });
    });

    it('never releases or captures more than is held', async () => {
      const { user_token } = await newUser(store(), 3_000);
      expect((await store().applyBalanceChange(change(user_token, 'hold', 3_000))).ok).toBe(true);
      const kinds = Array.from({ length: 24 }, (_, index): 'release' | 'capture' =>
        index % 2 === 0 ? 'release' : 'capture',
      );
      const results = await Promise.all(
        kinds.map((kind) => store().applyBalanceChange(change(user_token, kind, 250))),
      );
      const approved = results.filter((result) => result.ok);
      expect(approved).toHaveLength(12);
      const released = kinds.filter((kind, index) => kind === 'release' && results[index]?.ok).length * 250;
      const captured = kinds.filter((kind, index) => kind === 'capture' && results[index]?.ok).length * 250;
      for (const result of results) expect(result.wallet.held_minor).toBeGreaterThanOrEqual(0);
      expect(await store().getWallet(user_token)).toMatchObject({ available_minor: released, held_minor: 0 });
      expect(released + captured).toBe(3_000);
    });
  });
}

type Command =
  | { readonly type: 'change'; readonly kind: ModelKind; readonly amount_minor: number }
  | { readonly type: 'repeat'; readonly pick: number };

const command_arbitrary: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    type: fc.constant('change' as const),
    kind: fc.constantFrom<ModelKind>('deposit', 'hold', 'release', 'capture', 'refund'),
    amount_minor: fc.integer({ min: 1, max: 5_000 }),
  }),
  fc.record({
    type: fc.constant('change' as const),
    kind: fc.constant<ModelKind>('adjust'),
    amount_minor: fc.integer({ min: -5_000, max: 5_000 }).filter((amount) => amount !== 0),
  }),
  fc.record({ type: fc.constant('repeat' as const), pick: fc.nat() }),
);

interface Sent {
  readonly id: string;
  readonly kind: ModelKind;
  readonly amount_minor: number;
  readonly outcome: ModelOutcome;
}

async function send(
  store: PersonalStore,
  user_token: string,
  id: string,
  kind: ModelKind,
  amount_minor: number,
) {
  if (kind === 'deposit') {
    const result = await store.creditDeposit({
      deposit_id: id,
      user_token,
      crypto_currency: 'USDC',
      crypto_amount: String(amount_minor),
      rate: '0.01',
      credited_minor: amount_minor,
      currency,
    });
    return { outcome: { ok: true } as ModelOutcome, wallet: result.wallet, replayed: result.replayed };
  }
  const result = await store.applyBalanceChange({ change_id: id, user_token, kind, amount_minor, currency });
  const outcome: ModelOutcome = result.ok ? { ok: true } : { ok: false, reason: result.reason };
  return { outcome, wallet: result.wallet, replayed: result.replayed };
}

async function runCommands(store: PersonalStore, commands: readonly Command[]): Promise<void> {
  const { user_token } = await newUser(store);
  const model: ModelWallet = { available_minor: 0, held_minor: 0, version: 0 };
  const sent: Sent[] = [];
  for (const command of commands) {
    const previous = command.type === 'repeat' ? sent[command.pick % Math.max(sent.length, 1)] : undefined;
    if (command.type === 'repeat' && previous === undefined) continue;
    const id = previous?.id ?? token('p');
    const kind = previous?.kind ?? (command.type === 'change' ? command.kind : 'deposit');
    const amount_minor = previous?.amount_minor ?? (command.type === 'change' ? command.amount_minor : 1);
    const expected = previous?.outcome ?? modelApply(model, kind, amount_minor);
    const actual = await send(store, user_token, id, kind, amount_minor);
    expect(actual.outcome).toEqual(expected);
    expect(actual.replayed).toBe(previous !== undefined);
    if (previous === undefined) {
      sent.push({ id, kind, amount_minor, outcome: expected });
      expect(actual.wallet).toMatchObject(model);
    }
  }
  expect(await store.getWallet(user_token)).toMatchObject(model);
}

export function propertyContract(store: () => PersonalStore): void {
  describe('property', () => {
    it('matches a pure model over random sequences of deposits, changes and repeats', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(command_arbitrary, { minLength: 1, maxLength: 25 }), (commands) =>
          runCommands(store(), commands),
        ),
        { numRuns: 25 },
      );
    });
  });
}
