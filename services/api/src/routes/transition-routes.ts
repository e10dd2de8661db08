import { readCardRecord, writeCardRecord } from '@afc/card-state';
import type { Service } from '@afc/service-kit';
import { type Static, Type } from '@sinclair/typebox';
import type { RouteContext } from '../app.ts';
import { ErrorBody, error_responses, IdParams, security } from '../schemas.ts';
import {
  local_state_of,
  marqetaFailureOf,
  transition_states,
  transitionAtMarqeta,
  transitionCheck,
} from '../transitions/card-transitions.ts';
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

export async function writeThrough(app: Service, context: RouteContext, card_token: string): Promise<void> {
  const record = await readCardRecord(
    { sql: app.postgres.sql, personal_store: app.personalStore },
    card_token,
    Date.now(),
  );
  if (record === undefined) throw new Error('card vanished between write and read-back');
  await writeCardRecord(context.card_state, record);
}

// Business cards: Marqeta first, under the card's row lock (one transition at a time per card),
// then the data of record in the same transaction, then Redis before the answer.
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
      const { state, reason } = request.body;
      let outcome: { card_token: string; from: string; check: 'move' | 'same' | 'illegal' } | undefined;
      try {
        outcome = await app.postgres.sql.begin(async (tx) => {
          const [card] = await tx<{ card_token: string; state: string; version: number }[]>`
            select card_token, state, version from cards
            where id = ${request.params.id} and company_id = ${company_id} for update`;
          if (card === undefined) return undefined;
          const check = transitionCheck(card.state, state);
          if (check === 'move') {
            const from_version = Number(card.version);
            await transitionAtMarqeta(context.marqeta, {
              card_token: card.card_token,
              from_version,
              state,
              reason,
            });
            await tx`update cards set state = ${local_state_of[state]}, version = version + 1, updated_at = now()
              where card_token = ${card.card_token}`;
          }
          return { card_token: card.card_token, from: card.state, check };
        });
      } catch (error) {
        const failure = marqetaFailureOf(error);
        if (failure === undefined) throw error;
        request.log.warn({ err: error, card_id: request.params.id }, 'card transition refused by Marqeta');
        return reply.code(failure.status).send(failure.body);
      }
      if (outcome === undefined) return notFound(reply, 'card');
      if (outcome.check === 'illegal') return reply.code(409).send(illegal_transition(outcome.from, state));
      // Also when already there: a retry heals a write-through the first attempt did not finish.
      await writeThrough(app, context, outcome.card_token);
      if (outcome.check === 'move') {
        request.log.info(
          { card_token: outcome.card_token, from: outcome.from, to: state, reason },
          'card transition',
        );
      }
      return {
        card_token: outcome.card_token,
        previous_state: outcome.from,
        state: local_state_of[state],
        changed: outcome.check === 'move',
      };
    },
  );
}

// Personal cards (admin key): the personal store has no row lock to hold across the Marqeta
// call, so the version a transition starts from is the card's updated_at; two concurrent
// transitions of one card may both reach Marqeta, which keeps the last (see README).
export async function personalTransitionRoutes(app: Service, context: RouteContext): Promise<void> {
  const store = app.personalStore;
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
      const { state, reason } = request.body;
      const card = await store.getCard(request.params.token);
      if (card === null) return notFound(reply, 'card');
      const check = transitionCheck(card.state, state);
      if (check === 'illegal') return reply.code(409).send(illegal_transition(card.state, state));
      if (check === 'move') {
        const from_version = card.updated_at.getTime();
        try {
          await transitionAtMarqeta(context.marqeta, {
            card_token: card.card_token,
            from_version,
            state,
            reason,
          });
        } catch (error) {
          const failure = marqetaFailureOf(error);
          if (failure === undefined) throw error;
          request.log.warn({ err: error, card_token: card.card_token }, 'card transition refused by Marqeta');
          return reply.code(failure.status).send(failure.body);
        }
        await store.setCardState(card.card_token, local_state_of[state]);
        request.log.info(
          { card_token: card.card_token, from: card.state, to: state, reason },
          'card transition',
        );
      }
      await writeThrough(app, context, card.card_token);
      return {
        card_token: card.card_token,
        previous_state: card.state,
        state: local_state_of[state],
        changed: check === 'move',
      };
    },
  );
}
