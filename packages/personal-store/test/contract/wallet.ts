import { describe, expect, it } from 'vitest';
import type { PersonalStore } from '../../src/index.ts';
import { currency, expectCode, newUser, token, withoutReplayed } from './helpers.ts';

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
