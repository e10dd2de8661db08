import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { SimContext } from './context.ts';
import { badRequest, marqeta_error_codes, notFound } from './errors.ts';
import { createOnce, nowIso } from './resources.ts';
import { TokenParams, UserBody, UserTransitionBody } from './schemas.ts';
import type { MarqetaObject, UserObject, UserStatus } from './state.ts';

export function usersRoutes(ctx: SimContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post('/users', { schema: { body: UserBody } }, async (request, reply) => {
      const { object } = createOnce(ctx.state.users, 'user', request.body, (token) => {
        const now = nowIso();
        const active = request.body.active ?? true;
        // No KYC here: an active user is ACTIVE at once.
        const status: UserStatus = active ? 'ACTIVE' : 'UNVERIFIED';
        return { ...request.body, token, active, status, created_time: now, last_modified_time: now };
      });
      return reply.code(201).send(object);
    });

    app.get('/users/:token', { schema: { params: TokenParams } }, async (request) => {
      return user(ctx, request.params.token);
    });

    app.put('/users/:token', { schema: { params: TokenParams, body: UserBody } }, async (request) => {
      const stored = ctx.state.users.get(request.params.token);
      if (stored === undefined) throw notFound('user', request.params.token);
      if (request.body.token !== undefined && request.body.token !== request.params.token) {
        throw badRequest('token cannot be changed');
      }
      // Status changes go through /usertransitions, as on Marqeta.
      const { active: _, ...changes } = request.body;
      stored.object = {
        ...stored.object,
        ...changes,
        token: stored.object.token,
        last_modified_time: nowIso(),
      };
      return stored.object;
    });

    app.post('/usertransitions', { schema: { body: UserTransitionBody } }, async (request, reply) => {
      const body = request.body;
      const { object } = createOnce(ctx.state.user_transitions, 'user transition', body, (token) => {
        const target = user(ctx, body.user_token);
        const status = body.status as UserStatus;
        if (target.status === 'TERMINATED' || target.status === status) {
          throw badRequest(
            `user cannot go from ${target.status} to ${status}`,
            marqeta_error_codes.illegal_transition,
          );
        }
        const now = nowIso();
        target.status = status;
        target.active = status === 'ACTIVE';
        target.last_modified_time = now;
        const transition: MarqetaObject = { ...body, token, created_time: now, last_modified_time: now };
        ctx.dispatcher.enqueue({
          kind: 'usertransition',
          name: `usertransition.${status.toLowerCase()}`,
          token,
          payload: transition,
        });
        return transition;
      });
      return reply.code(201).send(object);
    });
  };
}

function user(ctx: SimContext, token: string): UserObject {
  const stored = ctx.state.users.get(token);
  if (stored === undefined) throw notFound('user', token);
  return stored.object;
}
