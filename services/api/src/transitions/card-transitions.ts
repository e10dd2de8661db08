import { createHash } from 'node:crypto';
import {
  type CardTransitionState,
  card_transition_states,
  cardTransitionCheck,
  isCardTransitionState,
  local_card_state_of,
} from '@afc/domain';
import { isMarqetaError, type MarqetaClient, MarqetaHttpError } from '@afc/marqeta';

// The rules live in @afc/domain: the webhooks consumer applies Marqeta's transitions by them too.
export const transition_states = card_transition_states;
export type TransitionState = CardTransitionState;
export const local_state_of = local_card_state_of;
export const transitionCheck = cardTransitionCheck;
export const isTransitionState = isCardTransitionState;

// Our token for Marqeta, from the card, the version of the card the transition starts from and
// the target: a retry after a lost answer repeats the same transition (Marqeta answers it again)
// instead of making a second one; the next transition starts from a higher version.
export function transitionToken(card_token: string, from_version: number, to: TransitionState): string {
  return createHash('sha256')
    .update(`transition:${card_token}:${from_version}:${to}`)
    .digest('hex')
    .slice(0, 36);
}

export async function transitionAtMarqeta(
  marqeta: MarqetaClient,
  request: { card_token: string; from_version: number; state: TransitionState; reason: string },
): Promise<void> {
  try {
    await marqeta.createCardTransition({
      token: transitionToken(request.card_token, request.from_version, request.state),
      card_token: request.card_token,
      channel: 'API',
      state: request.state,
      reason: request.reason,
    });
  } catch (error) {
    // Our token exists with another body (a retry with another reason): the transition to this
    // state from this version was made; the data of record catches up.
    if (error instanceof MarqetaHttpError && error.status === 409) return;
    throw error;
  }
}

export interface MarqetaFailure {
  readonly status: 502 | 503;
  readonly body: { error: string; message: string; marqeta_error_code?: string };
}

// A 4xx Marqeta will not change on a retry → 502 with its error_code; a timeout, 429, 5xx or an
// open breaker → 503 (try again later). Either way nothing was written locally.
export function marqetaFailureOf(error: unknown): MarqetaFailure | undefined {
  if (!isMarqetaError(error)) return undefined;
  if (
    error instanceof MarqetaHttpError &&
    error.status >= 400 &&
    error.status < 500 &&
    error.status !== 429
  ) {
    return {
      status: 502,
      body: {
        error: 'marqeta_rejected',
        message: `Marqeta refused the transition (${error.status})`,
        ...(error.error_code === undefined ? {} : { marqeta_error_code: error.error_code }),
      },
    };
  }
  return {
    status: 503,
    body: { error: 'marqeta_unavailable', message: 'Marqeta could not be reached; retry' },
  };
}
