import { product_topology, type TopologyDescription } from '@afc/amqp';
import type { WebhooksConfig } from '@afc/config';
import type { Logger } from '@afc/log';
import { amqpOptions, amqpPlugin, createService, type Service } from '@afc/service-kit';
import { webhooksApp } from './app.ts';

export interface BuildOverrides {
  // Tests declare only the queue they read (quorum queues are costly on a shared broker).
  readonly topology?: TopologyDescription;
}

// The broker is the only dependency: the receiver stores nothing itself. Infrastructure first,
// the receiver last, since Fastify closes in reverse order.
export async function buildWebhooks(
  config: WebhooksConfig,
  logger: Logger,
  overrides: BuildOverrides = {},
): Promise<Service> {
  const app = await createService({
    name: 'webhooks',
    logger,
    body_limit_bytes: config.WEBHOOK_BODY_LIMIT_BYTES,
  });
  await app.register(amqpPlugin, {
    amqp: amqpOptions(config, 'webhooks', overrides.topology ?? product_topology),
    start_timeout_ms: 5_000,
    // Starts anyway and answers 503 (Marqeta retries) until connected; not ready meanwhile.
    required_at_start: false,
    readiness_critical: true,
    close_timeout_ms: 5_000,
  });
  await app.register(webhooksApp, {
    credentials: { username: config.WEBHOOK_BASIC_USERNAME, password: config.WEBHOOK_BASIC_PASSWORD },
    signature: { secret: config.WEBHOOK_SIGNATURE_SECRET, algorithm: config.WEBHOOK_SIGNATURE_ALGORITHM },
    body_limit_bytes: config.WEBHOOK_BODY_LIMIT_BYTES,
    publish_timeout_ms: config.AMQP_CONFIRM_TIMEOUT_MS,
    retry_after_s: 4,
  });
  return app;
}
