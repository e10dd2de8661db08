import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { SimContext } from './context.ts';
import { badRequest, notFound } from './errors.ts';
import { createOnce, nowIso } from './resources.ts';
import { ReplayParams, TokenParams, WebhookBody, WebhookUpdate } from './schemas.ts';
import type { MarqetaObject, WebhookObject } from './state.ts';
import { webhookView } from './views.ts';
import type { EventKind, WebhookEvent } from './webhook-dispatcher.ts';

export function webhookRoutes(ctx: SimContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post('/webhooks', { schema: { body: WebhookBody } }, async (request, reply) => {
      const body = request.body;
      const { object } = createOnce(ctx.state.webhooks, 'webhook', body, (token) => {
        const now = nowIso();
        const webhook: WebhookObject = {
          ...body,
          token,
          active: body.active ?? true,
          // SHA-1 is what Marqeta signed with before SHA-256 became selectable.
          config: { ...body.config, signature_algorithm: body.config.signature_algorithm ?? 'HMAC_SHA_1' },
          created_time: now,
          last_modified_time: now,
        };
        return webhook;
      });
      return reply.code(201).send(webhookView(object));
    });

    app.get('/webhooks/:token', { schema: { params: TokenParams } }, async (request) => {
      return webhookView(webhook(ctx, request.params.token));
    });

    app.put('/webhooks/:token', { schema: { params: TokenParams, body: WebhookUpdate } }, async (request) => {
      const stored = ctx.state.webhooks.get(request.params.token);
      if (stored === undefined) throw notFound('webhook', request.params.token);
      const { config, ...rest } = request.body;
      const current = stored.object;
      stored.object = {
        ...current,
        ...rest,
        config: { ...current.config, ...config },
        last_modified_time: nowIso(),
      };
      return webhookView(stored.object);
    });

    app.post('/webhooks/:token/ping', { schema: { params: TokenParams } }, async (request) => {
      const { body, result } = await ctx.dispatcher.ping(webhook(ctx, request.params.token));
      if (result.status_code !== 200) {
        throw badRequest(`webhook endpoint did not accept the ping: ${result.status_code ?? result.error}`);
      }
      return JSON.parse(body) as unknown;
    });

    app.post(
      '/webhooks/:token/:event_type/:event_token',
      { schema: { params: ReplayParams } },
      async (request) => {
        const { token, event_type, event_token } = request.params;
        const target = webhook(ctx, token);
        return ctx.dispatcher.replay(target, storedEvent(ctx, event_type, event_token));
      },
    );
  };
}

function webhook(ctx: SimContext, token: string): WebhookObject {
  const stored = ctx.state.webhooks.get(token);
  if (stored === undefined) throw notFound('webhook', token);
  return stored.object;
}

function storedEvent(ctx: SimContext, kind: EventKind, token: string): WebhookEvent {
  let payload: MarqetaObject | Record<string, unknown> | undefined;
  let name = '';
  if (kind === 'transaction') {
    const record = ctx.state.transactions.get(token);
    payload = record?.object;
    name = `transaction.${record?.type}`;
  } else {
    const store = kind === 'cardtransition' ? ctx.state.card_transitions : ctx.state.user_transitions;
    payload = store.get(token)?.object;
    name = `${kind}.${String(payload?.type ?? payload?.status ?? '')}`;
  }
  if (payload === undefined) throw notFound(kind, token);
  return { kind, name, token, payload };
}
