export { type WebhooksOptions, webhooksApp } from './app.ts';
export { type BuildOverrides, buildWebhooks } from './build-webhooks.ts';
export { routingKeyOf } from './receiver/publish-events.ts';
export { signature_header } from './receiver/signature.ts';
export { known_types, max_events_per_type, WebhookBody } from './receiver/webhook-body.ts';
export { webhook_path } from './routes/webhook-route.ts';
