import type { CardStateStore } from '../store.ts';
import type { CardRecord } from './read-card-record.ts';

// Writes a card's record from the data of record through to Redis: documents versioned (never
// regress), counters and balance only where Redis has none loaded (a reload never overwrites
// live counting). Used by the authorizer's loader and by writers of the control plane.
export async function writeCardRecord(store: CardStateStore, record: CardRecord): Promise<void> {
  const { card, controls, cardholder, counters, balance } = record;
  await Promise.all([
    store.writeCard(card),
    store.writeControls(card.user_token, card.card_token, controls),
    store.writeCardholder(cardholder),
    store.writeCounters(card.user_token, card.card_token, counters),
    ...(balance === undefined
      ? []
      : [
          store.writeBalance(
            card.user_token,
            { available_minor: balance.available_minor, held_minor: balance.held_minor },
            balance.wallet_version,
          ),
        ]),
  ]);
}
