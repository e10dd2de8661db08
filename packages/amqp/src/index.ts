export {
  AmqpError,
  type AmqpErrorCode,
  amqp_error_codes,
  ClosedError,
  isAmqpError,
  NackedError,
  NotConnectedError,
  PublishTimeoutError,
  UnroutableError,
} from './errors.ts';
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
