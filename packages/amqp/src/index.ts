export {
  AmqpClient,
  type AmqpClientOptions,
  type CloseReport,
  type ConnectionState,
  client_defaults,
  EncodedJson,
  type JsonPayload,
  type PublishOptions,
} from './client.ts';
export {
  type ConsumeOptions,
  default_handler_timeout_ms,
  type MessageContext,
  type MessageHandler,
} from './consumer.ts';
export { deleteTopology } from './delete-topology.ts';
export {
  AmqpError,
  type AmqpErrorCode,
  amqp_error_codes,
  ClosedError,
  isAmqpError,
  NackedError,
  NotConnectedError,
  OperationTimeoutError,
  PublishTimeoutError,
  UnroutableError,
} from './errors.ts';
export { header_names, max_reason_length } from './headers.ts';
export type { ParkedMessage, QueueBacklog, ReplayReport } from './parked.ts';
export {
  type ExchangeName,
  exchange_names,
  exchange_of,
  product_topology,
  queue_names,
  type RoutingKey,
  routing_keys,
} from './product-topology.ts';
export {
  type BindingDescription,
  declareTopology,
  type ExchangeDescription,
  type QueueDescription,
  type QueueType,
  type ResolvedQueue,
  type ResolvedTopology,
  type RetryTier,
  resolveTopology,
  type TopologyDescription,
  topology_defaults,
} from './topology.ts';
export { type BackoffOptions, backoffDelay } from './wait.ts';
