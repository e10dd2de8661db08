import { waitUntil } from '@afc/testkit';
import type { ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpClient, amqp_error_codes, type CloseReport } from '../src/index.ts';
import {
  captureLogger,
  clientOptions,
  deleteTopology,
  inspector,
  messageCount,
  testTopology,
} from './helpers.ts';

const topology = testTopology([
  { name: 'slow', bindings: [{ exchange: 'events', routing_keys: ['slow.#'] }], retry_delays_ms: [50, 100] },
]);
const slow_queue = `${topology.namespace}.slow`;

// A handler that holds each message until the test lets it go.
function gatedHandler() {
  const started: string[] = [];
  const finished: string[] = [];
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const handler = async (message: { message_id: string }) => {
    started.push(message.message_id);
    await gate;
    finished.push(message.message_id);
  };
  return { started, finished, handler, open: () => open() };
}

describe('graceful close', () => {
  const { logger, lines } = captureLogger();
  let model: ChannelModel;

  beforeAll(async () => {
    model = await inspector();
  });

  afterAll(async () => {
    await model?.close();
    await deleteTopology(topology);
  });

  it('stops intake, waits for the in-flight handler, acks it, then closes', async () => {
    const client = new AmqpClient(clientOptions(topology, logger, { connection_name: 'close-graceful' }));
    await client.start(10_000);
    const gated = gatedHandler();
    await client.consume('slow', gated.handler, { prefetch_count: 2, handler_timeout_ms: 10_000 });
    await client.publish('events', 'slow.one', {}, { message_id: 'msg-in-flight' });
    await waitUntil(() => gated.started.length === 1);

    let report: CloseReport | undefined;
    const closing = client.close(10_000).then((value) => {
      report = value;
    });
    // The broker acknowledged the cancel (a quorum queue still counts a cancelled consumer while
    // it holds an unacked message, so the consumer count cannot show this).
    await waitUntil(() => lines.some((line) => line.includes('"amqp.close.intake_stopped"')));
    expect(client.state).toBe('closing');
    expect(report).toBeUndefined();
    // Published now, with room under the prefetch: it stays ready in the queue for the next
    // process instead of reaching this one.
    const channel = await model.createConfirmChannel();
    channel.publish(`${topology.namespace}.events`, 'slow.two', Buffer.from('{}'), { messageId: 'msg-next' });
    await channel.waitForConfirms();
    await channel.close();
    await waitUntil(async () => (await messageCount(model, slow_queue)) === 1);

    gated.open();
    await closing;
    expect(report).toEqual({ abandoned_handlers: 0, unconfirmed_publishes: 0 });
    expect(client.state).toBe('closed');
    expect(gated.started).toEqual(['msg-in-flight']);
    expect(gated.finished).toEqual(['msg-in-flight']);
    // Acked: only the message published during the close is left.
    expect(await messageCount(model, slow_queue)).toBe(1);
    await expect(
      client.publish('events', 'slow.x', {}, { message_id: 'msg-after-close' }),
    ).rejects.toMatchObject({
      code: amqp_error_codes.closed,
    });
  });

  it('gives up on a handler at the deadline and leaves its message for redelivery', async () => {
    const client = new AmqpClient(clientOptions(topology, logger, { connection_name: 'close-deadline' }));
    await client.start(10_000);
    const gated = gatedHandler();
    await client.consume('slow', gated.handler, { prefetch_count: 1, handler_timeout_ms: 10_000 });
    await waitUntil(() => gated.started.length === 1);
    expect(gated.started).toEqual(['msg-next']);
    const report = await client.close(200);
    expect(report.abandoned_handlers).toBe(1);
    gated.open();
    // Never acked, so the broker still holds it.
    await waitUntil(async () => (await messageCount(model, slow_queue)) === 1);
  });
});
