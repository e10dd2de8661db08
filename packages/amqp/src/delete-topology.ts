import { connect } from 'amqplib';
import { resolveTopology, type TopologyDescription } from './topology.ts';

// Deletes every queue and exchange a topology declares: for tests, benchmarks and throwaway
// environments that used a namespace. Refuses a topology without a namespace, so it can never
// remove the product's own queues.
export async function deleteTopology(url: string, description: TopologyDescription, timeout_ms = 10_000) {
  if (description.namespace === undefined || description.namespace === '') {
    throw new Error('deleteTopology only deletes namespaced topologies');
  }
  const resolved = resolveTopology(description);
  const connection = await connect(url, { timeout: timeout_ms });
  try {
    const channel = await connection.createChannel();
    for (const queue of resolved.queues.values()) {
      for (const name of [
        queue.work_queue,
        queue.parked_queue,
        ...queue.retry_tiers.map((tier) => tier.queue),
      ]) {
        await channel.deleteQueue(name);
      }
    }
    for (const name of [...resolved.exchanges.values(), resolved.dead_letter_exchange]) {
      await channel.deleteExchange(name);
    }
    await channel.close();
  } finally {
    await connection.close();
  }
}
