import type { Service } from '@afc/service-kit';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import type { RouteContext } from '../app.ts';
import { ErrorBody, error_responses, IdParams, security } from '../schemas.ts';
import { CardBusyError, withCardLock } from '../transitions/card-lock.ts';
import {
  local_state_of,
  marqetaFailureOf,
  type TransitionState,
  transition_states,
} from '../transitions/card-transitions.ts';
import {
  type TransitionOutcome,
  transitionBusinessCard,
  transitionPersonalCard,
} from '../transitions/transition-card.ts';
import { companyOf, notFound, requireAdmin } from './access.ts';
import { PersonalTokenParams } from './personal-routes.ts';

export const TransitionInput = Type.Object(
  {
    state: Type.Union(transition_states.map((state) => Type.Literal(state))),
    reason: Type.String({ minLength: 1, maxLength: 255, pattern: '\\S' }),
  },
  { additionalProperties: false },
);
export type TransitionInput = Static<typeof TransitionInput>;
export const TransitionResult = Type.Object({
  card_token: Type.String(),
  previous_state: Type.String(),
  state: Type.String(),
  changed: Type.Boolean(),
});
export const transition_responses = {
  200: TransitionResult,
  ...error_responses,
  502: Type.Object({ ...ErrorBody.properties, marqeta_error_code: Type.Optional(Type.String()) }),
  503: ErrorBody,
} as const;

export const illegal_transition = (from: string, to: string) => ({
  error: 'conflict',
  message: `a ${from} card cannot become ${to.toLowerCase()}`,
  fields: ['body.state'],
});

// Business cards: one transition at a time per card (withCardLock, in Redis, as for personal
// cards): Marqeta first, then the data of record and the card's lifecycle history in one short
// transaction, then Redis before the answer. No PostgreSQL connection or row lock is held while
// Marqeta is called (up to two attempts of MARQETA_TIMEOUT_MS): a few slow transitions would
// otherwise take the API's small pool from every other route.
export async function transitionRoutes(app: Service, context: RouteContext): Promise<void> {
  app.post(
    '/v1/cards/:id/transitions',
    {
      schema: {
        tags: ['cards'],
        security,
        description: 'Suspends, reactivates or terminates the card at Marqeta, here and for authorizations.',
        params: IdParams,
        body: TransitionInput,
        response: transition_responses,
      },
    },
    async (request, reply) => {
      const company_id = companyOf(request, reply);
      if (company_id === undefined) return reply;
      const [card] = await app.postgres.sql<{ card_token: string }[]>`
        select card_token from cards where id = ${request.params.id} and company_id = ${company_id}`;
      if (card === undefined) return notFound(reply, 'card');
      return answerTransition(app, context, request.log, reply, card.card_token, request.body.state, () =>
        transitionBusinessCard(app, context, card.card_token, request.body),
      );
    },
  );
}

// The card's lock around the work, and the answer for both programs.
async function answerTransition(
  app: Service,
  context: RouteContext,
  log: FastifyBaseLogger,
  reply: FastifyReply,
  card_token: string,
  state: TransitionState,
  work: () => Promise<TransitionOutcome>,
) {
  let outcome: TransitionOutcome;
  try {
    outcome = await withCardLock(app.redis, card_token, context.card_lock, work);
  } catch (error) {
    if (error instanceof CardBusyError) {
      return reply
        .code(503)
        .send({ error: 'busy', message: 'another transition of this card is in progress; retry' });
    }
    const failure = marqetaFailureOf(error);
    if (failure === undefined) throw error;
    log.warn({ err: error, card_token }, 'card transition refused by Marqeta');
    return reply.code(failure.status).send(failure.body);
  }
  if (outcome.kind === 'not_found') return notFound(reply, 'card');
  if (outcome.kind === 'illegal') return reply.code(409).send(illegal_transition(outcome.from, state));
  if (outcome.kind === 'moved') {
    log.warn(
      { card_token, from: outcome.from, to: state, now: outcome.now },
      'card moved during a transition',
    );
    return reply.code(409).send({
      error: 'conflict',
      message: `the card changed at Marqeta while this transition was made; it is now ${outcome.now}`,
      fields: ['body.state'],
    });
  }
  // Not the reason: free text an operator types may carry a card number; the history keeps it.
  if (outcome.changed) {
    log.info({ card_token, from: outcome.from, to: state }, 'card transition');
  }
  return {
    card_token: outcome.card_token,
    previous_state: outcome.from,
    state: local_state_of[state],
    changed: outcome.changed,
  };
}

// Personal cards (admin key): the same lock, whatever store holds the card. Without it two
// transitions (suspend vs terminate) could reach Marqeta in one order and the data of record in
// the other, and write Redis from snapshots taken in a third.
export async function personalTransitionRoutes(app: Service, context: RouteContext): Promise<void> {
  app.post(
    '/v1/personal/cards/:token/transitions',
    {
      schema: {
        tags: ['personal cardholders'],
        security,
        params: PersonalTokenParams,
        body: TransitionInput,
        response: transition_responses,
      },
    },
    async (request, reply) => {
      if (!requireAdmin(request, reply)) return reply;
      const card_token = request.params.token;
      return answerTransition(app, context, request.log, reply, card_token, request.body.state, () =>
        transitionPersonalCard(app, context, card_token, request.body),
      );
    },
  );
}
