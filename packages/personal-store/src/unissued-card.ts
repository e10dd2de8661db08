import type { CreateCardInput } from './types.ts';

// A personal card as recorded before Marqeta issues it: unactivated, with placeholders for the
// expiry and last four that the card-issuer replaces with Marqeta's (recordCardIssued).
export function unissuedCard(card: {
  readonly card_token: string;
  readonly user_token: string;
  readonly currency: string;
  readonly card_product_token?: string;
}): CreateCardInput {
  return {
    card_token: card.card_token,
    user_token: card.user_token,
    state: 'unactivated',
    currency: card.currency,
    expiration_month: 12,
    expiration_year: 2099,
    last_four: '0000',
    ...(card.card_product_token === undefined ? {} : { card_product_token: card.card_product_token }),
  };
}
