import { localServiceUrls, uniqueTestId } from '@afc/testkit';
import { connect } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { deleteTopology, product_topology, resolveTopology } from '../src/index.ts';
import { declareTopology } from '../src/topology.ts';

describe('deleteTopology', () => {
  it('removes every queue and exchange of a namespace, and refuses one without', async () => {
    const topology = { ...product_topology, namespace: uniqueTestId('del') };
    const connection = await connect(localServiceUrls.amqp);
    const channel = await connection.createChannel();
    await declareTopology(channel, topology);
    await deleteTopology(localServiceUrls.amqp, topology);
    const work_queue = resolveTopology(topology).queues.get('settlement')?.work_queue ?? '';
    // checkQueue on a missing queue closes its channel with 404 (and emits 'error' on it).
    const probe = await connection.createChannel();
    probe.on('error', () => undefined);
    await expect(probe.checkQueue(work_queue)).rejects.toThrow(/404/);
    await connection.close();
    await expect(deleteTopology(localServiceUrls.amqp, product_topology)).rejects.toThrow(/namespaced/);
  });
});
