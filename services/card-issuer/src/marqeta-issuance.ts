import { createHash } from 'node:crypto';
import { isMarqetaError, type MarqetaClient, MarqetaHttpError } from '@afc/marqeta';
import type { IssuableCard, IssuedDetails } from './card-records.ts';

// A Marqeta answer that no retry can change: the card is marked failed at once.
export interface PermanentFailure {
  readonly reason: string;
  readonly marqeta_error_code?: string;
}

// 408 (timeout), 409 (handled where a create can conflict) and 429 (rate limit) may succeed
// later; every other 4xx says the request itself is wrong. 5xx, timeouts, network failures and
// an open breaker are thrown on, for the queue's retries.
export function permanentFailureOf(error: unknown): PermanentFailure | undefined {
  if (error instanceof CardNotIssuableError) return { reason: error.message.slice(0, 500) };
  if (!(error instanceof MarqetaHttpError)) return undefined;
  const { status } = error;
  if (status < 400 || status > 499 || status === 408 || status === 409 || status === 429) return undefined;
  return {
    reason: error.message.slice(0, 500),
    ...(error.error_code === undefined ? {} : { marqeta_error_code: error.error_code.slice(0, 20) }),
  };
}

function isConflict(error: unknown): boolean {
  return isMarqetaError(error) && error instanceof MarqetaHttpError && error.status === 409;
}

// createUser with our token: a repeat with the same body answers 201/200; a 409 means the user
// exists with other details (changed since): it is the same cardholder, so its existence is
// confirmed with getUser and issuance goes on.
export async function ensureMarqetaUser(client: MarqetaClient, card: IssuableCard): Promise<void> {
  try {
    await client.createUser({ token: card.user_token, active: true, ...card.holder });
  } catch (error) {
    if (!isConflict(error)) throw error;
    await client.getUser(card.user_token);
  }
}

// Marqeta's expiration is MMYY.
function parseExpiration(expiration: string): { month: number; year: number } {
  return { month: Number(expiration.slice(0, 2)), year: 2000 + Number(expiration.slice(2, 4)) };
}

// Issuance that Marqeta's state rules out whatever we retry (a card of another user, a card
// Marqeta holds suspended or terminated): the card is marked failed.
export class CardNotIssuableError extends Error {
  readonly code = 'AFC_CARD_ISSUER_NOT_ISSUABLE';
}

// createCard with our card token: a repeat (a retry after a lost answer, a duplicate command)
// returns the same card instead of issuing a second one. A 409 (same token, other body) is
// accepted when the existing card belongs to the same user.
export async function createMarqetaCard(
  client: MarqetaClient,
  card: IssuableCard,
  card_product_token: string,
): Promise<IssuedDetails & { readonly state: string }> {
  let issued: Awaited<ReturnType<MarqetaClient['createCard']>>;
  try {
    issued = await client.createCard({
      token: card.card_token,
      user_token: card.user_token,
      card_product_token,
    });
  } catch (error) {
    if (!isConflict(error)) throw error;
    issued = await client.getCard(card.card_token);
    if (issued.user_token !== card.user_token) {
      throw new CardNotIssuableError(`Marqeta card ${card.card_token} belongs to another user`);
    }
  }
  const { month, year } = parseExpiration(issued.expiration);
  return { last_four: issued.last_four, expiration_month: month, expiration_year: year, state: issued.state };
}

// A product without activate_upon_issue issues UNACTIVATED cards, which Marqeta declines before
// asking our gateway: activate it. The transition token is derived from the card token, so a
// retry repeats the same transition instead of making a second one.
export async function activateMarqetaCard(client: MarqetaClient, card_token: string, state: string) {
  if (state === 'ACTIVE') return;
  if (state !== 'UNACTIVATED') {
    throw new CardNotIssuableError(`Marqeta card ${card_token} is ${state}, not issuable`);
  }
  const token = createHash('sha256').update(`activate:${card_token}`).digest('hex').slice(0, 36);
  try {
    await client.createCardTransition({ token, card_token, channel: 'API', state: 'ACTIVE' });
  } catch (error) {
    // Already done by an earlier attempt whose answer was lost.
    if (!isConflict(error)) throw error;
  }
}
