import { afterAll, beforeAll, describe } from 'vitest';
import type { PersonalStore } from '../../src/index.ts';
import { cardIssuanceContract } from './card-issuance.ts';
import type { StoreFactory } from './helpers.ts';
import { ledgerContract } from './ledger.ts';
import { openHoldsContract } from './open-holds.ts';
import { lifecycleContract, paginationContract, transactionEventsContract } from './transactions.ts';
import { cardsContract, usersContract } from './users-cards.ts';
import { depositsContract } from './wallet.ts';

export type { StoreFactory } from './helpers.ts';

// The one contract every PersonalStore backend must pass. Each case makes its own users,
// cards and transactions under fresh tokens, so cases never see each other's data.
export function personalStoreContract(backend: string, open: StoreFactory): void {
  describe(`PersonalStore contract: ${backend}`, () => {
    let store: PersonalStore | undefined;
    const current = () => {
      if (store === undefined) throw new Error('store not opened');
      return store;
    };
    beforeAll(async () => {
      store = await open({});
    });
    afterAll(async () => {
      await store?.close();
    });

    usersContract(current, open);
    cardsContract(current);
    cardIssuanceContract(current, open);
    depositsContract(current);
    transactionEventsContract(current);
    ledgerContract(current);
    openHoldsContract(current);
    paginationContract(open);
    lifecycleContract(open);
  });
}
