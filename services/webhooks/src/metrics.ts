import { Counter, type Registry } from 'prom-client';

export type RejectReason =
  | 'unauthorized'
  | 'bad_signature'
  | 'malformed_json'
  | 'invalid_body'
  | 'too_large'
  | 'unsupported_media_type'
  | 'broker_unavailable';

export interface WebhookMetrics {
  readonly events: Counter<'type'>;
  readonly rejected: Counter<'reason'>;
}

export function createWebhookMetrics(registry: Registry): WebhookMetrics {
  return {
    events: new Counter({
      name: 'afc_webhook_events_total',
      help: 'Webhook events accepted (published and confirmed; pings answered), by type',
      labelNames: ['type'],
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'afc_webhook_rejected_total',
      help: 'Webhook deliveries answered with anything but 200, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}
