export { type AuthorizerOptions, authorizerApp } from './app.ts';
export { type AuthorizerOverrides, buildAuthorizer } from './build-authorizer.ts';
export { OutboxRelay, type OutboxRelayOptions } from './outbox/outbox-relay.ts';
