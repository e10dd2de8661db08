import type { Service } from '@afc/service-kit';
import fp from 'fastify-plugin';
import { createWebhookMetrics } from './metrics.ts';
import type { BasicCredentials } from './receiver/basic-auth.ts';
import type { SignatureAlgorithm } from './receiver/signature.ts';
import { webhookRoute } from './routes/webhook-route.ts';

export interface WebhooksOptions {
  readonly credentials: BasicCredentials;
  readonly signature: { readonly secret: string; readonly algorithm: SignatureAlgorithm };
  readonly body_limit_bytes: number;
  readonly publish_timeout_ms: number;
  readonly retry_after_s: number;
}

// The receiver, on the AMQP plugin registered before it (so the client closes after it: a
// request in flight still gets its confirms).
export const webhooksApp = fp<WebhooksOptions>(
  async (app, options) => {
    const service = app as Service;
    const metrics = createWebhookMetrics(service.metrics.registry);
    await webhookRoute(service, { ...options, amqp: app.amqp, metrics });
  },
  { name: 'webhooks', dependencies: ['afc-readiness', 'afc-metrics', 'afc-amqp'] },
);
