import { uniqueTestId } from '@afc/testkit';
import { expect } from 'vitest';
import {
  type CreateCardInput,
  type PersonalErrorCode,
  type PersonalStore,
  type PersonalUser,
  unissuedCard,
} from '../../src/index.ts';

// Opens a store on the backend under test; the contract closes what it opens.
export type StoreFactory = (options: { readonly now?: () => Date }) => Promise<PersonalStore>;

export const currency = 'USD';

export function token(prefix: string): string {
  return uniqueTestId(prefix);
}

// A card as the api records it before Marqeta issues it.
export function unissued(user_token: string, card_token = token('c')): CreateCardInput {
  return unissuedCard({ card_token, user_token, currency, card_product_token: 'product-personal' });
}

export async function newUser(store: PersonalStore, funded_minor = 0): Promise<PersonalUser> {
  const user = await store.createUser({
    user_token: token('u'),
    email: 'person@example.com',
    wallet_address: '0x52908400098527886E0F7030069857D2E4169EE7',
    currency,
  });
  if (funded_minor > 0) {
    await store.creditDeposit({
      deposit_id: token('d'),
      user_token: user.user_token,
      crypto_currency: 'USDC',
      crypto_amount: (funded_minor / 100).toFixed(2),
      rate: '1',
      credited_minor: funded_minor,
      currency,
    });
  }
  return user;
}

export async function expectCode(promise: Promise<unknown>, code: PersonalErrorCode): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code });
}

// A repeat must answer exactly what the first call answered, apart from saying it is a repeat.
export function withoutReplayed<T extends { readonly replayed: boolean }>(value: T): Omit<T, 'replayed'> {
  const { replayed: _replayed, ...rest } = value;
  return rest;
}

// A clock the test moves: creation times (and their ties) are chosen, not raced.
export function manualClock(start_ms: number) {
  let now_ms = start_ms;
  return {
    now: () => new Date(now_ms),
    set(ms: number) {
      now_ms = ms;
    },
  };
}
