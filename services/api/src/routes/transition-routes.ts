import { readCardRecord, writeCardRecord } from '@afc/card-state';
import type { Service } from '@afc/service-kit';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import type { RouteContext } from '../app.ts';
import {
  type LifecycleEntry,
  recordLifecycleEvent,
  transition_type_of,
  transitionEventId,
} from '../lifecycle/card-lifecycle.ts';
import { ErrorBody, error_responses, IdParams, security } from '../schemas.ts';
import { CardBusyError, withCardLock } from '../transitions/card-lock.ts';
import {
  isTransitionState,
  local_state_of,
  marqetaFailureOf,
  type TransitionState,
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

type TransitionOutcome =
  | { readonly kind: 'not_found' }
  | { readonly kind: 'illegal'; readonly from: string }
  // Another transition (at Marqeta) moved the card while this one was made; `now` is Marqeta's.
  | { readonly kind: 'moved'; readonly from: string; readonly now: string }
  | { readonly kind: 'done'; readonly card_token: string; readonly from: string; readonly changed: boolean };

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

// Under the card's lock: read, Marqeta, then the row and its history in one transaction, only
// if nothing moved the card since it was read. The lock has a lease (a holder that died frees
// the card), so the version check is what fences the write; and the webhooks consumer applies
// Marqeta's own transitions to the row without this lock. When the card moved meanwhile,
// Marqeta's card decides (settleMovedCard).
async function transitionBusinessCard(
  app: Service,
  context: RouteContext,
  card_token: string,
  input: TransitionInput,
): Promise<TransitionOutcome> {
  const [card] = await app.postgres.sql<{ user_token: string; state: string; version: number }[]>`
    select u.user_token, c.state, c.version from cards c join users u on u.id = c.user_id
    where c.card_token = ${card_token}`;
  if (card === undefined) return { kind: 'not_found' };
  const check = transitionCheck(card.state, input.state);
  if (check === 'illegal') return { kind: 'illegal', from: card.state };
  let outcome: TransitionOutcome = { kind: 'done', card_token, from: card.state, changed: check === 'move' };
  if (check === 'move') {
    const from_version = Number(card.version);
    await transitionAtMarqeta(context.marqeta, { card_token, from_version, ...input });
    const history = {
      event_id: transitionEventId(card_token, from_version),
      program: 'business' as const,
      card_token,
      user_token: card.user_token,
      type: transition_type_of[input.state],
      reason: input.reason,
      details: { from_state: card.state },
    };
    const target = local_state_of[input.state];
    const written = await app.postgres.sql.begin(async (tx) => {
      const [now] = await tx<{ state: string; version: number }[]>`
        select state, version from cards where card_token = ${card_token} for update`;
      // Moved by Marqeta's webhook of this very transition, or not moved at all: ours stands.
      const ours = now !== undefined && (Number(now.version) === from_version || now.state === target);
      if (!ours) return false;
      if (now.state !== target) {
        await tx`update cards set state = ${target}, version = version + 1, updated_at = now()
          where card_token = ${card_token}`;
      }
      await recordLifecycleEvent(tx, history);
      return true;
    });
    if (!written) outcome = await settleMovedCard(app, context, history, input.state);
  }
  // Also when already there: a retry heals a write-through the first attempt did not finish.
  await writeThrough(app, context, card_token);
  return outcome;
}

// The card moved to another state while Marqeta made our transition (a transition made at
// Marqeta directly, applied by the webhooks consumer). Which of the two Marqeta applied last is
// known only to Marqeta: its card's state now is the answer, written with `write` (a state this
// transition could not set, such as a card no longer issued, is left to the webhooks). Returns
// that state, or the raw Marqeta state when it is not one a transition sets.
async function settleFromMarqeta(
  context: RouteContext,
  card_token: string,
  write: (state: TransitionState) => Promise<void>,
): Promise<{ readonly state: TransitionState } | { readonly other: string }> {
  const at_marqeta = await context.marqeta.getCard(card_token);
  if (!isTransitionState(at_marqeta.state)) return { other: String(at_marqeta.state) };
  await write(at_marqeta.state);
  return { state: at_marqeta.state };
}

function settledOutcome(
  settled: { readonly state: TransitionState } | { readonly other: string },
  card_token: string,
  from: string,
  target: TransitionState,
): TransitionOutcome {
  if ('other' in settled) return { kind: 'moved', from, now: settled.other };
  if (settled.state === target) return { kind: 'done', card_token, from, changed: true };
  return { kind: 'moved', from, now: local_state_of[settled.state] };
}

async function settleMovedCard(
  app: Service,
  context: RouteContext,
  history: LifecycleEntry & { readonly details: { readonly from_state: string } },
  target: TransitionState,
): Promise<TransitionOutcome> {
  const { card_token } = history;
  const settled = await settleFromMarqeta(context, card_token, (state) =>
    app.postgres.sql.begin(async (tx) => {
      await tx`update cards set state = ${local_state_of[state]}, version = version + 1, updated_at = now()
        where card_token = ${card_token} and state <> ${local_state_of[state]}`;
      if (state === target) await recordLifecycleEvent(tx, history);
    }),
  );
  return settledOutcome(settled, card_token, history.details.from_state, target);
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
): Promise<TransitionOutcome> {
  const store = app.personalStore;
  const card = await store.getCard(card_token);
  if (card === null) return { kind: 'not_found' };
  const check = transitionCheck(card.state, input.state);
  if (check === 'illegal') return { kind: 'illegal', from: card.state };
  let outcome: TransitionOutcome = { kind: 'done', card_token, from: card.state, changed: check === 'move' };
  if (check === 'move') {
    const from_version = card.updated_at.getTime();
    await transitionAtMarqeta(context.marqeta, { card_token, from_version, ...input });
    const target = local_state_of[input.state];
    // As for business cards, but the store has no compare-and-set: the re-read narrows the
    // window in which a webhook can move the card unseen to the write itself.
    const now = await store.getCard(card_token);
    const ours = now !== null && (now.updated_at.getTime() === from_version || now.state === target);
    if (ours && now.state !== target) await store.setCardState(card_token, target);
    if (!ours) {
      const settled = await settleFromMarqeta(context, card_token, async (state) => {
        if ((await store.getCard(card_token))?.state !== local_state_of[state])
          await store.setCardState(card_token, local_state_of[state]);
      });
      outcome = settledOutcome(settled, card_token, card.state, input.state);
    }
    if (outcome.kind === 'done') {
      await recordLifecycleEvent(app.postgres.sql, {
        event_id: transitionEventId(card_token, from_version),
        program: 'personal',
        card_token,
        user_token: card.user_token,
        type: transition_type_of[input.state],
        reason: input.reason,
        details: { from_state: card.state },
      });
    }
  }
  // Also when already there: a retry heals a write-through the first attempt did not finish.
  await writeThrough(app, context, card_token);
  return outcome;
}
