// Issuing a card through the api as a client does: the api answers 202 at once and the
// card-issuer creates it at Marqeta; the caller waits (bounded) until it is issued.
import { bearer, callJson, expectStatus, pollUntil } from './http.ts';

export const issue_timeout_ms = 30_000;

export async function requestBusinessCard(api_url: string, key: string, user_id: string, product: string) {
  return expectStatus<{ id: string; card_token: string }>('POST', `${api_url}/v1/cards`, [202], {
    headers: bearer(key),
    body: { user_id, card_product_token: product, currency: 'USD' },
  });
}

export async function requestPersonalCard(
  api_url: string,
  admin_key: string,
  user_token: string,
  product: string,
) {
  return expectStatus<{ card_token: string }>('POST', `${api_url}/v1/personal/cards`, [202], {
    headers: bearer(admin_key),
    body: { user_token, card_product_token: product },
  });
}

export async function waitBusinessCardIssued(api_url: string, key: string, card_id: string): Promise<void> {
  let last = 'unknown';
  await pollUntil(
    `card ${card_id} issued`,
    async () => {
      const card = await expectStatus<{ state: string; failure_reason: string | null }>(
        'GET',
        `${api_url}/v1/cards/${card_id}`,
        [200],
        { headers: bearer(key) },
      );
      if (card.state === 'failed') throw new Error(`card ${card_id} failed to issue: ${card.failure_reason}`);
      last = card.state;
      return card.state !== 'requested' && card.state !== 'issuing';
    },
    issue_timeout_ms,
  ).catch((error: unknown) => {
    throw new Error(`${error instanceof Error ? error.message : String(error)} (last state: ${last})`);
  });
}

// Unactivated while the card-issuer works, then active (or failed, with the reason).
export async function waitPersonalCardIssued(api_url: string, admin_key: string, card_token: string) {
  let last = 'unknown';
  await pollUntil(
    `personal card ${card_token} issued`,
    async () => {
      const card = await expectStatus<{ state: string; failure_reason: string | null }>(
        'GET',
        `${api_url}/v1/personal/cards/${card_token}`,
        [200],
        { headers: bearer(admin_key) },
      );
      if (card.state === 'failed')
        throw new Error(`card ${card_token} failed to issue: ${card.failure_reason}`);
      last = card.state;
      return card.state !== 'unactivated';
    },
    issue_timeout_ms,
  ).catch((error: unknown) => {
    throw new Error(`${error instanceof Error ? error.message : String(error)} (last state: ${last})`);
  });
  return last;
}

export async function personalCardState(api_url: string, admin_key: string, card_token: string) {
  const answer = await callJson('GET', `${api_url}/v1/personal/cards/${card_token}`, {
    headers: bearer(admin_key),
  });
  // Gone (404): undefined. Anything else but 200 is not an answer to act on.
  if (answer.status === 404) return undefined;
  if (answer.status !== 200) throw new Error(`personal card ${card_token}: ${answer.status}`);
  return (answer.body as { state: string }).state;
}
