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

// One metric label for every unknown type: a signed sender could otherwise mint label values.
export function metricTypeOf(type: string): string {
  return type.startsWith('unknown.') ? 'unknown' : type;
}

export interface ConsumerMetrics {
  readonly consumed: Counter<'type' | 'outcome'>;
}

// The webhook-events consumer: one count per delivery handled, by event type (unknown types
// under one label) and outcome (applied, unchanged, superseded, duplicate, ignored,
// left_to_issuer, unknown_subject, not_ours; retry and invalid when the delivery failed).
export function createConsumerMetrics(registry: Registry): ConsumerMetrics {
  return {
    consumed: new Counter({
      name: 'afc_webhook_consumed_total',
      help: 'Deliveries of the webhook-events queue handled, by event type and outcome',
      labelNames: ['type', 'outcome'],
      registers: [registry],
    }),
  };
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
