export { type ApiOptions, apiApp } from './app.ts';
export { type ApiOverrides, buildApi } from './build-api.ts';
export { OutboxPublisher, type OutboxPublisherOptions } from './outbox/outbox-publisher.ts';
