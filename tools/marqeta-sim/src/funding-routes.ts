import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { SimContext } from './context.ts';
import { notFound } from './errors.ts';
import { createOnce, nowIso } from './resources.ts';
import { FundingSourceBody, FundingSourceUpdate, TokenParams } from './schemas.ts';
import type { FundingSourceObject } from './state.ts';
import { fundingSourceView } from './views.ts';

export function fundingRoutes(ctx: SimContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/fundingsources/programgateway',
      { schema: { body: FundingSourceBody } },
      async (request, reply) => {
        const body = request.body;
        const { object } = createOnce(ctx.state.funding_sources, 'funding source', body, (token) => {
          const now = nowIso();
          const source: FundingSourceObject = {
            ...body,
            token,
            // Marqeta's own deadline; the simulator never waits longer than jit_timeout_ms.
            timeout_millis: body.timeout_millis ?? 3_000,
            active: body.active ?? true,
            account: `${token}.pgfs`,
            created_time: now,
            last_modified_time: now,
          };
          return source;
        });
        return reply.code(201).send(fundingSourceView(object));
      },
    );

    app.get('/fundingsources/programgateway/:token', { schema: { params: TokenParams } }, async (request) => {
      return fundingSourceView(source(ctx, request.params.token));
    });

    // Drills repoint or slow down the gateway here, as an operator would on Marqeta.
    app.put(
      '/fundingsources/programgateway/:token',
      { schema: { params: TokenParams, body: FundingSourceUpdate } },
      async (request) => {
        const stored = ctx.state.funding_sources.get(request.params.token);
        if (stored === undefined) throw notFound('funding source', request.params.token);
        stored.object = { ...stored.object, ...request.body, last_modified_time: nowIso() };
        return fundingSourceView(stored.object);
      },
    );

    app.get('/transactions/:token', { schema: { params: TokenParams } }, async (request) => {
      const record = ctx.state.transactions.get(request.params.token);
      if (record === undefined) throw notFound('transaction', request.params.token);
      return record.object;
    });
  };
}

function source(ctx: SimContext, token: string): FundingSourceObject {
  const stored = ctx.state.funding_sources.get(token);
  if (stored === undefined) throw notFound('funding source', token);
  return stored.object;
}
