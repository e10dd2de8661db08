import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { buildCard, cardTransitionType, isLegalCardTransition } from './card-factory.ts';
import type { SimContext } from './context.ts';
import { badRequest, marqeta_error_codes, notFound } from './errors.ts';
import { createOnce, nowIso } from './resources.ts';
import { CardBody, CardProductBody, CardTransitionBody, ShowQuery, TokenParams } from './schemas.ts';
import type { CardObject, CardState, MarqetaObject } from './state.ts';
import { cardView } from './views.ts';

export function cardsRoutes(ctx: SimContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post('/cardproducts', { schema: { body: CardProductBody } }, async (request, reply) => {
      const body = request.body;
      const { object } = createOnce(ctx.state.card_products, 'card product', body, (token) => {
        const pgfs = body.config?.jit_funding?.programgateway_funding_source;
        if (pgfs?.enabled === true && !ctx.state.funding_sources.has(pgfs.funding_source_token)) {
          throw badRequest(`funding source not found: ${pgfs.funding_source_token}`);
        }
        const now = nowIso();
        return {
          ...body,
          token,
          active: body.active ?? true,
          config: body.config ?? {},
          created_time: now,
          last_modified_time: now,
        };
      });
      return reply.code(201).send(object);
    });

    app.get('/cardproducts/:token', { schema: { params: TokenParams } }, async (request) => {
      const product = ctx.state.card_products.get(request.params.token);
      if (product === undefined) throw notFound('card product', request.params.token);
      return product.object;
    });

    app.post('/cards', { schema: { body: CardBody, querystring: ShowQuery } }, async (request, reply) => {
      const body = request.body;
      const { object } = createOnce(ctx.state.cards, 'card', body, (token) => issueCard(ctx, token, body));
      return reply.code(201).send(cardView(object, reveal(request.query)));
    });

    app.get('/cards/:token', { schema: { params: TokenParams, querystring: ShowQuery } }, async (request) => {
      return cardView(card(ctx, request.params.token), reveal(request.query));
    });

    app.post('/cardtransitions', { schema: { body: CardTransitionBody } }, async (request, reply) => {
      const body = request.body;
      const { object } = createOnce(ctx.state.card_transitions, 'card transition', body, (token) => {
        const target = card(ctx, body.card_token);
        if (!isLegalCardTransition(target.state, body.state)) {
          const message = `card cannot go from ${target.state} to ${body.state}`;
          throw badRequest(message, marqeta_error_codes.illegal_transition);
        }
        const type = cardTransitionType(target.state, body.state);
        target.state = body.state;
        target.last_modified_time = nowIso();
        return announceTransition(ctx, target, { ...body, token, type });
      });
      return reply.code(201).send(object);
    });
  };
}

function issueCard(ctx: SimContext, token: string, body: CardBody): CardObject {
  const { token: _, user_token, card_product_token, ...extra } = body;
  if (!ctx.state.users.has(user_token)) throw notFound('user', user_token);
  const product = ctx.state.card_products.get(card_product_token)?.object;
  if (product === undefined) throw notFound('card product', card_product_token);
  const config = product.config as { card_life_cycle?: { activate_upon_issue?: boolean } } | undefined;
  const state: CardState = config?.card_life_cycle?.activate_upon_issue === true ? 'ACTIVE' : 'UNACTIVATED';
  const issued = buildCard(
    { token, user_token, card_product_token, state, extra, now: nowIso() },
    ctx.random,
  );
  // Marqeta announces every new card with a fulfillment transition.
  announceTransition(ctx, issued, {
    token: randomUUID(),
    card_token: token,
    channel: 'SYSTEM',
    type: 'fulfillment.issued',
  });
  return issued;
}

// Records a card transition and queues its webhook event.
function announceTransition(ctx: SimContext, target: CardObject, fields: MarqetaObject): MarqetaObject {
  const now = nowIso();
  const transition: MarqetaObject = {
    ...fields,
    state: target.state,
    user_token: target.user_token,
    card_product_token: target.card_product_token,
    last_four: target.last_four,
    expiration: target.expiration,
    expiration_time: target.expiration_time,
    fulfillment_status: target.fulfillment_status,
    pin_is_set: target.pin_is_set,
    created_time: now,
  };
  if (!ctx.state.card_transitions.has(transition.token)) {
    ctx.state.card_transitions.set(transition.token, { request: undefined, object: transition });
  }
  ctx.dispatcher.enqueue({
    kind: 'cardtransition',
    name: `cardtransition.${String(fields.type)}`,
    token: transition.token,
    payload: transition,
  });
  return transition;
}

function card(ctx: SimContext, token: string): CardObject {
  const stored = ctx.state.cards.get(token);
  if (stored === undefined) throw notFound('card', token);
  return stored.object;
}

function reveal(query: { show_pan?: string; show_cvv_number?: string }) {
  return { show_pan: query.show_pan === 'true', show_cvv_number: query.show_cvv_number === 'true' };
}
