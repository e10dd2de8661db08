export { type AuthorizerOptions, authorizerApp } from './app.ts';
export { buildAuthorizer } from './build-authorizer.ts';
export { OutboxRelay, type OutboxRelayOptions } from './outbox/outbox-relay.ts';
