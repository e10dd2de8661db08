import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  declareTopology,
  exchange_names,
  exchange_of,
  product_topology,
  queue_names,
  resolveTopology,
  routing_keys,
  type TopologyDescription,
} from '../src/index.ts';
import { deleteTopology, inspector, messageCount, testNamespace } from './helpers.ts';

describe('resolveTopology', () => {
  it('names every queue of a consumer purpose under the namespace', () => {
    const resolved = resolveTopology({ ...product_topology, namespace: 'ns1' });
    const settlement = resolved.queues.get('settlement');
    expect(settlement).toMatchObject({
      work_queue: 'ns1.settlement',
      parked_queue: 'ns1.settlement.parked',
      retry_tiers: [
        { queue: 'ns1.settlement.retry.1', delay_ms: 1_000 },
        { queue: 'ns1.settlement.retry.2', delay_ms: 10_000 },
      ],
      max_attempts: 3,
      queue_type: 'quorum',
    });
    expect(resolved.exchanges.get('transactions')).toBe('ns1.transactions');
    expect(resolved.dead_letter_exchange).toBe('ns1.dead-letter');
    expect(resolveTopology(product_topology).queues.get('settlement')?.work_queue).toBe('settlement');
  });

  it('refuses descriptions that cannot work', () => {
    const base: TopologyDescription = { exchanges: [{ name: 'events', type: 'topic' }], queues: [] };
    const queue = { name: 'q', bindings: [{ exchange: 'events', routing_keys: ['a.#'] }] };
    expect(() => resolveTopology({ ...base, queues: [{ ...queue, retry_delays_ms: [10, 20, 30] }] })).toThrow(
      /one retry delay per retry/,
    );
    expect(() =>
      resolveTopology({
        ...base,
        queues: [{ ...queue, bindings: [{ exchange: 'nope', routing_keys: ['a'] }] }],
      }),
    ).toThrow(/unknown exchange/);
    expect(() => resolveTopology({ ...base, queues: [queue, { ...queue, name: 'q.parked' }] })).toThrow(
      /used twice/,
    );
    expect(() => resolveTopology({ ...base, namespace: 'Bad Space' })).toThrow(/namespace/);
  });
});

describe('declareTopology against the broker', () => {
  const product: TopologyDescription = { ...product_topology, namespace: testNamespace() };
  let model: ChannelModel;
  let channel: ConfirmChannel;

  beforeAll(async () => {
    model = await inspector();
    channel = await model.createConfirmChannel();
  });

  afterAll(async () => {
    await model.close();
    await deleteTopology(product);
  });

  it('is idempotent and routes every product routing key to the queues that need it', async () => {
    const resolved = await declareTopology(channel, product);
    // A second declaration with the same description is a no-op (a mismatch would close the channel).
    await declareTopology(channel, product);
    const returned: string[] = [];
    channel.on('return', (message) => returned.push(message.fields.routingKey));
    for (const routing_key of Object.values(routing_keys)) {
      const exchange = resolved.exchanges.get(exchange_of[routing_key]) ?? '';
      channel.publish(exchange, routing_key, Buffer.from('{}'), { mandatory: true, messageId: routing_key });
    }
    // A webhook type the receiver does not know yet (it publishes it as `webhook.unknown.<key>`).
    const events = resolved.exchanges.get(exchange_names.events) ?? '';
    channel.publish(events, 'webhook.unknown.chargebacktransitions', Buffer.from('{}'), { mandatory: true });
    await channel.waitForConfirms();
    expect(returned).toEqual([]);
    const count = (name: string) => messageCount(model, resolved.queues.get(name)?.work_queue ?? '');
    // Six transaction events and Marqeta's transaction webhooks: those go to settlement only.
    expect(await count(queue_names.settlement)).toBe(7);
    // Card, user and business transitions, and the unknown type.
    expect(await count(queue_names.webhook_events)).toBe(4);
    expect(await count(queue_names.card_issuance)).toBe(1);
    expect(await count(queue_names.card_events)).toBe(2);
  });

  it('removes a retired binding a broker still has from an earlier release', async () => {
    const namespace = testNamespace();
    const earlier: TopologyDescription = { ...product_topology, namespace };
    const resolved = resolveTopology(earlier);
    const work_queue = resolved.queues.get(queue_names.webhook_events)?.work_queue ?? '';
    const events = resolved.exchanges.get(exchange_names.events) ?? '';
    try {
      await declareTopology(channel, earlier);
      // What the earlier release declared: every webhook to webhook-events.
      await channel.bindQueue(work_queue, events, 'webhook.#');
      await declareTopology(channel, earlier);
      channel.publish(events, routing_keys.webhook_transactions, Buffer.from('{}'), { mandatory: true });
      await channel.waitForConfirms();
      const count = (name: string) => messageCount(model, resolved.queues.get(name)?.work_queue ?? '');
      expect(await count(queue_names.settlement)).toBe(1);
      expect(await count(queue_names.webhook_events)).toBe(0);
    } finally {
      await deleteTopology(earlier);
    }
  });

  it('refuses a binding that is both kept and retired', () => {
    const queue = {
      name: 'q',
      bindings: [{ exchange: 'events', routing_keys: ['a.#'] }],
      retired_bindings: [{ exchange: 'events', routing_keys: ['a.#'] }],
    };
    expect(() =>
      resolveTopology({ exchanges: [{ name: 'events', type: 'topic' }], queues: [queue] }),
    ).toThrow(/both bound and retired/);
  });
});
