import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { SimContext } from './context.ts';
import { AuthorizationBody, BalanceInquiryBody, FollowUpBody, RefundBody } from './schemas.ts';
import type { TransactionRecord } from './state.ts';

// Marqeta's simulation answers wrap the transaction: {"transaction": {...}}.
function answer(record: TransactionRecord) {
  return { transaction: record.object };
}

export function simulateRoutes(ctx: SimContext): FastifyPluginAsyncTypebox {
  const { activity } = ctx;
  return async (app) => {
    app.post('/authorization', { schema: { body: AuthorizationBody } }, async (request, reply) => {
      return reply.code(201).send(answer(await activity.authorize(request.body)));
    });
    app.post('/authorization/incremental', { schema: { body: FollowUpBody } }, async (request, reply) => {
      return reply.code(201).send(answer(await activity.incremental(request.body)));
    });
    app.post('/authorization/advice', { schema: { body: FollowUpBody } }, async (request, reply) => {
      return reply.code(201).send(answer(await activity.advice(request.body)));
    });
    app.post('/clearing', { schema: { body: FollowUpBody } }, async (request, reply) => {
      return reply.code(201).send(answer(await activity.clearing(request.body)));
    });
    app.post('/reversal', { schema: { body: FollowUpBody } }, async (request, reply) => {
      return reply.code(201).send(answer(await activity.reversal(request.body)));
    });
    app.post('/refund', { schema: { body: RefundBody } }, async (request, reply) => {
      return reply.code(201).send(answer(await activity.refund(request.body)));
    });
    app.post('/balanceinquiry', { schema: { body: BalanceInquiryBody } }, async (request, reply) => {
      return reply.code(201).send(answer(await activity.balanceInquiry(request.body)));
    });
  };
}
