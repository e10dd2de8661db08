import type { AmqpClient } from '@afc/amqp';
import type { Service } from '@afc/service-kit';
import type { FastifyReply } from 'fastify';
import { metricTypeOf, type RejectReason, type WebhookMetrics } from '../metrics.ts';
import { type BasicCredentials, basicAuthenticator } from '../receiver/basic-auth.ts';
import { publishEvents } from '../receiver/publish-events.ts';
import { type SignatureAlgorithm, signature_header, signatureVerifier } from '../receiver/signature.ts';
import { parseWebhookBody } from '../receiver/webhook-body.ts';

export const webhook_path = '/v1/webhooks/marqeta';

export interface WebhookRouteOptions {
  readonly credentials: BasicCredentials;
  readonly signature: { readonly secret: string; readonly algorithm: SignatureAlgorithm };
  readonly body_limit_bytes: number;
  readonly publish_timeout_ms: number;
  // Marqeta retries on its own schedule; the header is for any other sender or a proxy.
  readonly retry_after_s: number;
  readonly amqp: AmqpClient;
  readonly metrics: WebhookMetrics;
}

// Refusals Fastify answers before the handler runs: past the limit (413), not JSON (415). A body
// shorter than its Content-Length never reaches the route: the HTTP layer answers it 400.
const transport_reasons: Readonly<Record<number, RejectReason>> = {
  413: 'too_large',
  415: 'unsupported_media_type',
};

// POST /v1/webhooks/marqeta in a scope of its own: its JSON parser keeps the raw bytes (the
// signature covers them) and changes no other route's parsing.
export async function webhookRoute(app: Service, options: WebhookRouteOptions): Promise<void> {
  const authenticate = basicAuthenticator(options.credentials);
  const verify = signatureVerifier(options.signature.secret, options.signature.algorithm);
  const { metrics } = options;
  // Replies whose refusal is counted already, so the transport count skips them.
  const counted = new WeakSet<FastifyReply>();
  const reject = (reply: FastifyReply, status: number, reason: RejectReason, message: string) => {
    metrics.rejected.inc({ reason });
    counted.add(reply);
    return reply.code(status).send({ error: reason, message });
  };

  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      'application/json',
      { parseAs: 'buffer', bodyLimit: options.body_limit_bytes },
      (_request, body, done) => done(null, body),
    );
    scope.post(
      webhook_path,
      {
        bodyLimit: options.body_limit_bytes,
        // Before the body is read: an unauthenticated caller costs no reading, hashing or parsing.
        onRequest: async (request, reply) => {
          if (authenticate(request.headers.authorization)) return undefined;
          reply.header('www-authenticate', 'Basic realm="webhooks"');
          return reject(reply, 401, 'unauthorized', 'bad credentials');
        },
        onResponse: async (_request, reply) => {
          const reason = transport_reasons[reply.statusCode];
          if (reason !== undefined && !counted.has(reply)) metrics.rejected.inc({ reason });
        },
      },
      async (request, reply) => {
        const received_at = new Date().toISOString();
        const raw = request.body;
        if (!Buffer.isBuffer(raw)) return reject(reply, 400, 'malformed_json', 'a JSON body is required');
        const signature = verify(raw, request.headers[signature_header]);
        if (signature !== 'valid') {
          request.log.warn({ signature }, 'webhook refused: signature');
          return reject(reply, 401, 'bad_signature', `signature ${signature}`);
        }
        const parsed = parseWebhookBody(raw);
        if (!parsed.ok) {
          request.log.warn({ reason: parsed.reason, detail: parsed.message }, 'webhook refused: body');
          return reject(reply, 400, parsed.reason, parsed.message);
        }
        if (parsed.pings > 0) metrics.events.inc({ type: 'pings' }, parsed.pings);
        if (parsed.events.length === 0) return reply.code(200).send({ received: 0 });
        // Known down: answer at once rather than wait out the publish deadline for nothing.
        const outcome =
          options.amqp.state === 'connected'
            ? await publishEvents(options.amqp, parsed.events, received_at, options.publish_timeout_ms)
            : ({ ok: false, failed: parsed.events.length, codes: [`amqp_${options.amqp.state}`] } as const);
        if (!outcome.ok) {
          request.log.warn(
            { failed: outcome.failed, events: parsed.events.length, codes: outcome.codes },
            'webhook not acknowledged: publish failed, Marqeta will retry',
          );
          reply.header('retry-after', String(options.retry_after_s));
          return reject(reply, 503, 'broker_unavailable', 'events not stored; retry later');
        }
        for (const event of parsed.events) metrics.events.inc({ type: metricTypeOf(event.type) });
        return reply.code(200).send({ received: parsed.events.length });
      },
    );
  });
}
