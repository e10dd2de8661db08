import { localServiceUrls, uniqueTestId } from '@afc/testkit';
import { type ChannelModel, connect } from 'amqplib';
import { type QueueDescription, resolveTopology, type TopologyDescription } from '../src/index.ts';

export function testNamespace(): string {
  return uniqueTestId('amqp');
}

// A namespaced topology of one exchange (`events`) and the given queues.
export function testTopology(queues: readonly QueueDescription[]): TopologyDescription {
  return {
    namespace: testNamespace(),
    exchanges: [{ name: 'events', type: 'topic' }],
    queues,
  };
}

// A connection of the test's own, for looking at queues from the broker's side.
export async function inspector(): Promise<ChannelModel> {
  return connect(localServiceUrls.amqp);
}

export async function messageCount(model: ChannelModel, queue: string): Promise<number> {
  const channel = await model.createChannel();
  try {
    return (await channel.checkQueue(queue)).messageCount;
  } finally {
    await channel.close();
  }
}

// Deletes exactly what this topology declared (and nothing of anyone else's).
export async function deleteTopology(topology: TopologyDescription, extra_queues: readonly string[] = []) {
  const resolved = resolveTopology(topology);
  const model = await inspector();
  try {
    const channel = await model.createChannel();
    for (const queue of resolved.queues.values()) {
      for (const name of [
        queue.work_queue,
        queue.parked_queue,
        ...queue.retry_tiers.map((tier) => tier.queue),
      ]) {
        await channel.deleteQueue(name);
      }
    }
    for (const name of extra_queues) await channel.deleteQueue(name);
    for (const exchange of [...resolved.exchanges.values(), resolved.dead_letter_exchange]) {
      await channel.deleteExchange(exchange);
    }
    await channel.close();
  } finally {
    await model.close();
  }
}
