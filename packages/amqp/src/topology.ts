import assert from 'node:assert/strict';
import type { Channel } from 'amqplib';

// The whole broker layout is one plain, typed description: services share it as data, and the
// client re-declares it after every reconnection (a deleted queue heals itself).

export type QueueType = 'quorum' | 'classic';

export interface ExchangeDescription {
  readonly name: string;
  // Topic only: routing keys are dotted event names and consumers bind by pattern.
  readonly type: 'topic';
}

export interface BindingDescription {
  readonly exchange: string;
  readonly routing_keys: readonly string[];
}

export interface QueueDescription {
  readonly name: string;
  readonly bindings: readonly BindingDescription[];
  // Bindings an earlier release declared and this one must not keep: a broker that already has
  // them would go on routing by them (declaring only ever adds), so they are removed at every
  // declaration (removing a binding that is not there is a no-op).
  readonly retired_bindings?: readonly BindingDescription[];
  readonly queue_type?: QueueType;
  // One delay per retry: a message is handled at most max_attempts times, so there are
  // max_attempts - 1 delays. They should grow.
  readonly retry_delays_ms?: readonly number[];
  readonly max_attempts?: number;
  // Quorum only: deliveries (including ones lost to crashes) before the broker itself parks a
  // message, so a message that kills its consumer process cannot loop forever.
  readonly delivery_limit?: number;
}

export interface TopologyDescription {
  // Prefixes every exchange and queue name ("<namespace>.<name>"): tests, parallel environments.
  readonly namespace?: string;
  readonly exchanges: readonly ExchangeDescription[];
  readonly queues: readonly QueueDescription[];
}

export const topology_defaults = {
  queue_type: 'quorum',
  retry_delays_ms: [1_000, 10_000],
  max_attempts: 3,
  delivery_limit: 20,
} as const;

export interface RetryTier {
  readonly queue: string;
  readonly delay_ms: number;
}

export interface ResolvedQueue {
  readonly name: string;
  readonly work_queue: string;
  readonly parked_queue: string;
  readonly retry_tiers: readonly RetryTier[];
  readonly max_attempts: number;
  readonly queue_type: QueueType;
  readonly delivery_limit: number;
  readonly bindings: readonly { readonly exchange: string; readonly routing_key: string }[];
  readonly retired_bindings: readonly { readonly exchange: string; readonly routing_key: string }[];
}

export interface ResolvedTopology {
  readonly namespace: string | undefined;
  // Where work queues dead-letter (broker-side rejections, delivery limit) and where the
  // consumer parks: each `<queue>.parked` is bound to it by the work queue's full name.
  readonly dead_letter_exchange: string;
  // Logical name → full (namespaced) name.
  readonly exchanges: ReadonlyMap<string, string>;
  readonly queues: ReadonlyMap<string, ResolvedQueue>;
}

const dead_letter_exchange_name = 'dead-letter';
const name_pattern = /^[a-z0-9][a-z0-9_-]*(\.[a-z0-9_-]+)*$/;
const routing_key_pattern = /^([a-z0-9_-]+|\*|#)(\.([a-z0-9_-]+|\*|#))*$/;

function full(namespace: string | undefined, name: string): string {
  return namespace === undefined ? name : `${namespace}.${name}`;
}

function resolveQueue(
  description: QueueDescription,
  namespace: string | undefined,
  exchanges: ReadonlyMap<string, string>,
): ResolvedQueue {
  assert.match(description.name, name_pattern, `queue name ${description.name}`);
  const max_attempts = description.max_attempts ?? topology_defaults.max_attempts;
  const delays = description.retry_delays_ms ?? topology_defaults.retry_delays_ms;
  assert.ok(Number.isSafeInteger(max_attempts) && max_attempts >= 1, `${description.name}: max_attempts`);
  assert.equal(delays.length, max_attempts - 1, `${description.name}: one retry delay per retry`);
  for (const delay of delays)
    assert.ok(Number.isSafeInteger(delay) && delay > 0, `${description.name}: delay`);
  const delivery_limit = description.delivery_limit ?? topology_defaults.delivery_limit;
  assert.ok(delivery_limit > max_attempts, `${description.name}: delivery_limit must exceed max_attempts`);
  const work_queue = full(namespace, description.name);
  const resolveBindings = (list: readonly BindingDescription[]) =>
    list.flatMap((binding) => {
      const exchange = exchanges.get(binding.exchange);
      assert.ok(exchange !== undefined, `${description.name}: binds to unknown exchange ${binding.exchange}`);
      assert.ok(binding.routing_keys.length > 0, `${description.name}: binding without routing keys`);
      return binding.routing_keys.map((routing_key) => {
        assert.match(routing_key, routing_key_pattern, `${description.name}: routing key ${routing_key}`);
        return { exchange, routing_key };
      });
    });
  const bindings = resolveBindings(description.bindings);
  const retired_bindings = resolveBindings(description.retired_bindings ?? []);
  for (const retired of retired_bindings) {
    const kept = bindings.some(
      (b) => b.exchange === retired.exchange && b.routing_key === retired.routing_key,
    );
    assert.ok(!kept, `${description.name}: ${retired.routing_key} is both bound and retired`);
  }
  return {
    name: description.name,
    work_queue,
    parked_queue: `${work_queue}.parked`,
    retry_tiers: delays.map((delay_ms, index) => ({ queue: `${work_queue}.retry.${index + 1}`, delay_ms })),
    max_attempts,
    queue_type: description.queue_type ?? topology_defaults.queue_type,
    delivery_limit,
    bindings,
    retired_bindings,
  };
}

// Validates the description (a bad one is a bug: it throws at boot, before touching the broker)
// and computes every full name.
export function resolveTopology(description: TopologyDescription): ResolvedTopology {
  const { namespace } = description;
  if (namespace !== undefined) assert.match(namespace, name_pattern, `namespace ${namespace}`);
  const exchanges = new Map<string, string>();
  for (const exchange of description.exchanges) {
    assert.match(exchange.name, name_pattern, `exchange name ${exchange.name}`);
    assert.ok(!exchange.name.startsWith('amq.'), `exchange name ${exchange.name} is reserved`);
    assert.notEqual(exchange.name, dead_letter_exchange_name, 'exchange name dead-letter is reserved');
    assert.ok(!exchanges.has(exchange.name), `duplicate exchange ${exchange.name}`);
    exchanges.set(exchange.name, full(namespace, exchange.name));
  }
  const queues = new Map<string, ResolvedQueue>();
  const all_queue_names = new Set<string>();
  for (const queue of description.queues) {
    const resolved = resolveQueue(queue, namespace, exchanges);
    for (const name of [
      resolved.work_queue,
      resolved.parked_queue,
      ...resolved.retry_tiers.map((t) => t.queue),
    ]) {
      assert.ok(!all_queue_names.has(name), `queue name ${name} is used twice`);
      all_queue_names.add(name);
    }
    queues.set(queue.name, resolved);
  }
  return {
    namespace,
    dead_letter_exchange: full(namespace, dead_letter_exchange_name),
    exchanges,
    queues,
  };
}

// Quorum queues dead-letter at-most-once unless asked otherwise; at-least-once needs
// reject-publish overflow. Without it a retry could vanish between the tier and the work queue.
function reliableDeadLettering(queue_type: QueueType): Record<string, unknown> {
  return queue_type === 'quorum'
    ? { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' }
    : {};
}

export function workQueueArguments(
  queue: ResolvedQueue,
  dead_letter_exchange: string,
): Record<string, unknown> {
  return {
    'x-queue-type': queue.queue_type,
    'x-dead-letter-exchange': dead_letter_exchange,
    'x-dead-letter-routing-key': queue.work_queue,
    ...(queue.queue_type === 'quorum' ? { 'x-delivery-limit': queue.delivery_limit } : {}),
    ...reliableDeadLettering(queue.queue_type),
  };
}

// A tier holds a failed message for its delay, then the broker dead-letters it through the
// default exchange straight to the work queue: only the queue whose consumer failed sees the
// retry (re-publishing to the topic exchange would hand it to every other bound queue again),
// and there is no retry exchange or binding that could drift out of date.
export function retryQueueArguments(queue: ResolvedQueue, tier: RetryTier): Record<string, unknown> {
  return {
    'x-queue-type': queue.queue_type,
    'x-message-ttl': tier.delay_ms,
    'x-dead-letter-exchange': '',
    'x-dead-letter-routing-key': queue.work_queue,
    ...reliableDeadLettering(queue.queue_type),
  };
}

// Idempotent: asserting an existing exchange or queue with the same arguments is a no-op. A
// changed argument (e.g. a new retry delay) makes the broker refuse (PRECONDITION_FAILED): such a
// change needs new queue names or a migration, never a silent mismatch.
export async function declareTopology(
  channel: Channel,
  topology: TopologyDescription | ResolvedTopology,
): Promise<ResolvedTopology> {
  const resolved = 'dead_letter_exchange' in topology ? topology : resolveTopology(topology);
  for (const exchange of resolved.exchanges.values()) {
    await channel.assertExchange(exchange, 'topic', { durable: true, autoDelete: false, internal: false });
  }
  await channel.assertExchange(resolved.dead_letter_exchange, 'direct', { durable: true, autoDelete: false });
  for (const queue of resolved.queues.values()) {
    const durable = { durable: true, exclusive: false, autoDelete: false };
    await channel.assertQueue(queue.parked_queue, {
      ...durable,
      arguments: { 'x-queue-type': queue.queue_type },
    });
    await channel.bindQueue(queue.parked_queue, resolved.dead_letter_exchange, queue.work_queue);
    for (const tier of queue.retry_tiers) {
      await channel.assertQueue(tier.queue, { ...durable, arguments: retryQueueArguments(queue, tier) });
    }
    const work_arguments = workQueueArguments(queue, resolved.dead_letter_exchange);
    await channel.assertQueue(queue.work_queue, { ...durable, arguments: work_arguments });
    for (const binding of queue.bindings) {
      await channel.bindQueue(queue.work_queue, binding.exchange, binding.routing_key);
    }
    for (const retired of queue.retired_bindings) {
      await channel.unbindQueue(queue.work_queue, retired.exchange, retired.routing_key);
    }
  }
  return resolved;
}

export function resolvedQueue(topology: ResolvedTopology, name: string): ResolvedQueue {
  const queue = topology.queues.get(name);
  assert.ok(queue !== undefined, `queue ${name} is not in the topology`);
  return queue;
}
