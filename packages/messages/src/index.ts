export { CardIssued, CardIssueFailed, CardIssueRequested } from './card-issuance.ts';
export { WebhookReceived, webhook_token_pattern, webhook_type_pattern } from './webhooks.ts';
