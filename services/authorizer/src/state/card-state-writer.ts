import type { CardStateStore } from '@afc/card-state';
import type { CardRecord } from './read-card-record.ts';
import type { StateWriter } from './state-loader.ts';

// The loader's writes, through the card-state store: documents versioned (never regress),
// counters and balance only where Redis has none loaded.
export function cardStateWriter(store: CardStateStore): StateWriter {
  return {
    async writeRecord(record: CardRecord) {
      const { card, controls, cardholder, counters, balance } = record;
      await Promise.all([
        store.writeCard(card),
        store.writeControls(card.user_token, card.card_token, controls),
        store.writeCardholder(cardholder),
        store.writeCounters(card.user_token, card.card_token, counters),
        ...(balance === undefined ? [] : [store.writeBalance(card.user_token, balance)]),
      ]);
    },
    async writeUnknownCard(user_token, card_token, ttl_s) {
      await store.writeUnknownCard(user_token, card_token, ttl_s);
    },
  };
}
