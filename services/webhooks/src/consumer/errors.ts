// The webhooks consumer's errors, matched by code. Thrown from a handler, each makes the queue
// retry the message through its delays and park it after the last attempt, with the message.
export const webhooks_error_codes = {
  // Not a WebhookReceived, or a transition event without the fields we apply: it will not
  // improve on a retry, and is parked for a person with the reason.
  invalid_event: 'AFC_WEBHOOKS_INVALID_EVENT',
  // Marqeta suspended or terminated a card whose issuance we have not recorded yet: the card
  // issuer usually records it within the retry delays.
  card_not_issued: 'AFC_WEBHOOKS_CARD_NOT_ISSUED',
} as const;

export type WebhooksErrorCode = (typeof webhooks_error_codes)[keyof typeof webhooks_error_codes];

export class WebhooksError extends Error {
  readonly code: WebhooksErrorCode;

  constructor(code: WebhooksErrorCode, message: string) {
    super(message);
    this.name = 'WebhooksError';
    this.code = code;
  }
}

export function isWebhooksError(error: unknown): error is WebhooksError {
  return error instanceof WebhooksError;
}
