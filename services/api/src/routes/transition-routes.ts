import { readCardRecord, writeCardRecord } from '@afc/card-state';
import type { Service } from '@afc/service-kit';
import { type Static, Type } from '@sinclair/typebox';
import type { RouteContext } from '../app.ts';
import { recordLifecycleEvent, transition_type_of, transitionEventId } from '../lifecycle/card-lifecycle.ts';
import { ErrorBody, error_responses, IdParams, security } from '../schemas.ts';
import { CardBusyError, withCardLock } from '../transitions/card-lock.ts';
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
// then the data of record and the card's lifecycle history in the same transaction, then Redis
// before the answer.
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
          const [card] = await tx<
            { card_token: string; user_token: string; state: string; version: number }[]
          >`
            select c.card_token, u.user_token, c.state, c.version
            from cards c join users u on u.id = c.user_id
            where c.id = ${request.params.id} and c.company_id = ${company_id} for update of c`;
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
            await recordLifecycleEvent(tx, {
              event_id: transitionEventId(card.card_token, from_version),
              program: 'business',
              card_token: card.card_token,
              user_token: card.user_token,
              type: transition_type_of[state],
              reason,
              details: { from_state: card.state },
            });
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
      // Not the reason: free text an operator types may carry a card number; the history keeps it.
      if (outcome.check === 'move') {
        request.log.info(
          { card_token: outcome.card_token, from: outcome.from, to: state },
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

type PersonalOutcome =
  | { readonly kind: 'not_found' }
  | { readonly kind: 'illegal'; readonly from: string }
  | { readonly kind: 'done'; readonly card_token: string; readonly from: string; readonly changed: boolean };

// Personal cards (admin key): one transition at a time per card, like the business row lock,
// whatever store holds the card: a lock per card token (withCardLock) held across the Marqeta
// call, the store write and the Redis write-through. Without it two transitions (suspend vs
// terminate) could reach Marqeta in one order and the data of record in the other, and write
// Redis from snapshots taken in a third.
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
      const { state } = request.body;
      let outcome: PersonalOutcome;
      try {
        outcome = await withCardLock(app.redis, request.params.token, context.personal_card_lock, () =>
          transitionPersonalCard(app, context, request.params.token, request.body),
        );
      } catch (error) {
        if (error instanceof CardBusyError) {
          return reply
            .code(503)
            .send({ error: 'busy', message: 'another transition of this card is in progress; retry' });
        }
        const failure = marqetaFailureOf(error);
        if (failure === undefined) throw error;
        request.log.warn(
          { err: error, card_token: request.params.token },
          'card transition refused by Marqeta',
        );
        return reply.code(failure.status).send(failure.body);
      }
      if (outcome.kind === 'not_found') return notFound(reply, 'card');
      if (outcome.kind === 'illegal') return reply.code(409).send(illegal_transition(outcome.from, state));
      // Not the reason (see the business route).
      if (outcome.changed) {
        request.log.info(
          { card_token: outcome.card_token, from: outcome.from, to: state },
          'card transition',
        );
      }
      return {
        card_token: outcome.card_token,
        previous_state: outcome.from,
        state: local_state_of[state],
        changed: outcome.changed,
      };
    },
  );
}

// Under the card's lock: read, Marqeta, the store, the history, Redis. The version a transition
// starts from is the card's updated_at (strictly increasing in the store), so its Marqeta token
// and its history id are new for every change and the same for a retry of this one. The store
// may be MongoDB, which shares no transaction with the history: a crash between the two loses
// that history entry (the card itself is right; a retry finds it moved and records nothing).
async function transitionPersonalCard(
  app: Service,
  context: RouteContext,
  card_token: string,
  input: TransitionInput,
): Promise<PersonalOutcome> {
  const store = app.personalStore;
  const card = await store.getCard(card_token);
  if (card === null) return { kind: 'not_found' };
  const check = transitionCheck(card.state, input.state);
  if (check === 'illegal') return { kind: 'illegal', from: card.state };
  if (check === 'move') {
    await transitionAtMarqeta(context.marqeta, {
      card_token,
      from_version: card.updated_at.getTime(),
      state: input.state,
      reason: input.reason,
    });
    await store.setCardState(card_token, local_state_of[input.state]);
    await recordLifecycleEvent(app.postgres.sql, {
      event_id: transitionEventId(card_token, card.updated_at.getTime()),
      program: 'personal',
      card_token,
      user_token: card.user_token,
      type: transition_type_of[input.state],
      reason: input.reason,
      details: { from_state: card.state },
    });
  }
  // Also when already there: a retry heals a write-through the first attempt did not finish.
  await writeThrough(app, context, card_token);
  return { kind: 'done', card_token, from: card.state, changed: check === 'move' };
}
