import type { PersonalCard, PersonalOpenHold, TransactionState } from '../types.ts';
import type { PersonalCollections } from './collections.ts';
import { cardFromDoc, openHoldFromDoc } from './convert.ts';

const open_states: TransactionState[] = ['pending', 'partially_cleared'];

// The only fields the open-hold listings answer with: not the history, which can be long.
const open_hold_projection = {
  _id: 0,
  jit_token: 1,
  card_token: 1,
  user_token: 1,
  currency: 1,
  state: 1,
  method: 1,
  authorized_minor: 1,
  cleared_minor: 1,
  reversed_minor: 1,
  created_at: 1,
  expires_at: 1,
} as const;

// Through the open_expiry index (state, expires_at, jit_token): one range per open state,
// merged in expires_at order by the server, never a collection scan.
export async function listExpiredOpenHolds(
  c: PersonalCollections,
  now: Date,
  limit: number,
): Promise<PersonalOpenHold[]> {
  const docs = await c.transactions
    .find(
      { state: { $in: open_states }, expires_at: { $lte: now } },
      {
        projection: open_hold_projection,
      },
    )
    .sort({ expires_at: 1, jit_token: 1 })
    .limit(limit)
    .toArray();
  return docs.map(openHoldFromDoc);
}

// Through the open_token index (state, jit_token).
export async function listOpenHoldsAfter(
  c: PersonalCollections,
  after: string,
  limit: number,
): Promise<PersonalOpenHold[]> {
  const docs = await c.transactions
    .find(
      { state: { $in: open_states }, jit_token: { $gt: after } },
      {
        projection: open_hold_projection,
      },
    )
    .sort({ jit_token: 1 })
    .limit(limit)
    .toArray();
  return docs.map(openHoldFromDoc);
}

// Through card_token_unique.
export async function listCardsAfter(
  c: PersonalCollections,
  after: string,
  limit: number,
): Promise<PersonalCard[]> {
  const docs = await c.cards
    .find({ card_token: { $gt: after } })
    .sort({ card_token: 1 })
    .limit(limit)
    .toArray();
  return docs.map(cardFromDoc);
}
