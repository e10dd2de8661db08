import { waitUntil } from '@afc/testkit';
import type { ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpClient, amqp_error_codes, EncodedJson, type MessageContext } from '../src/index.ts';
import {
  amqpPort,
  captureLogger,
  clientOptions,
  deleteTopology,
  HoldingProxy,
  inspector,
  messageCount,
  proxiedUrl,
  testTopology,
} from './helpers.ts';

const topology = testTopology([
  { name: 'work', bindings: [{ exchange: 'events', routing_keys: ['thing.#'] }], retry_delays_ms: [50, 100] },
  {
    name: 'dedup',
    bindings: [{ exchange: 'events', routing_keys: ['dedup.#'] }],
    retry_delays_ms: [50, 100],
  },
  // Nobody consumes it: messages stay where the broker put them, to be counted.
  { name: 'held', bindings: [{ exchange: 'events', routing_keys: ['held.#'] }], retry_delays_ms: [50, 100] },
]);
const namespace = topology.namespace ?? '';
// Out of the topology on purpose: a queue that refuses every message, so the broker nacks.
const full_queue = `${namespace}.full`;

describe('confirmed publishing and consuming', () => {
  const { logger, lines } = captureLogger();
  const received: MessageContext[] = [];
  let client: AmqpClient;
  let model: ChannelModel;

  beforeAll(async () => {
    client = new AmqpClient(clientOptions(topology, logger));
    await client.start(10_000);
    await client.consume(
      'work',
      async (message) => {
        message.logger.info({ event: 'test.handled' }, 'handled');
        received.push(message);
      },
      { prefetch_count: 10, handler_timeout_ms: 5_000 },
    );
    model = await inspector();
    const channel = await model.createChannel();
    await channel.assertQueue(full_queue, {
      durable: false,
      arguments: { 'x-queue-type': 'classic', 'x-max-length': 0, 'x-overflow': 'reject-publish' },
    });
    await channel.bindQueue(full_queue, `${namespace}.events`, 'nack.#');
    await channel.close();
  });

  afterAll(async () => {
    await client?.close(5_000);
    await model?.close();
    await deleteTopology(topology, [full_queue]);
  });

  it('delivers the payload, message_id, original routing key and headers intact, once confirmed', async () => {
    const payload = { amount_minor: 1234, currency: 'USD', card: { token: 'card-1' }, tags: ['a', 'b'] };
    await client.publish('events', 'thing.created', payload, {
      message_id: 'msg-roundtrip',
      headers: { 'x-trace-id': 'trace-1' },
      type: 'thing.created',
    });
    await waitUntil(() => received.some((message) => message.message_id === 'msg-roundtrip'));
    const message = received.find((candidate) => candidate.message_id === 'msg-roundtrip');
    expect(message).toMatchObject({ routing_key: 'thing.created', payload, attempt: 1 });
    expect(message?.headers['x-trace-id']).toBe('trace-1');
    const handled = lines.map((line) => JSON.parse(line)).find((line) => line.event === 'test.handled');
    expect(handled?.message_id).toBe('msg-roundtrip');
    // The broker URL carries guest:guest; no log line may.
    expect(lines.join('')).not.toContain(':guest@');
  });

  it('publishes JSON text as it is (EncodedJson): the consumer reads the same value', async () => {
    const text = '{"event_id":"e-1","type":"thing.encoded","amount_minor":1234,"nested":{"a":[1,2]}}';
    await client.publish('events', 'thing.encoded', new EncodedJson(text), { message_id: 'msg-encoded' });
    await waitUntil(() => received.some((message) => message.message_id === 'msg-encoded'));
    const message = received.find((candidate) => candidate.message_id === 'msg-encoded');
    expect(message?.payload).toEqual(JSON.parse(text));
    expect(() => new EncodedJson('')).toThrow();
  });

  it('rejects an unroutable publish with AFC_AMQP_UNROUTABLE while a routable one with the same id confirms', async () => {
    const [routable, unroutable] = await Promise.allSettled([
      client.publish('events', 'thing.twin', { n: 1 }, { message_id: 'msg-twin' }),
      client.publish('events', 'nobody.binds.this', { n: 2 }, { message_id: 'msg-twin' }),
    ]);
    expect(routable.status).toBe('fulfilled');
    expect(unroutable).toMatchObject({ status: 'rejected', reason: { code: amqp_error_codes.unroutable } });
    await waitUntil(() => received.some((message) => message.routing_key === 'thing.twin'));
  });

  it('refuses an exchange outside the topology before it reaches the broker', async () => {
    await expect(
      client.publish('nowhere', 'thing.x', {}, { message_id: 'msg-nowhere' }),
    ).rejects.toMatchObject({
      code: amqp_error_codes.unroutable,
    });
    // The channel is still usable: nothing was sent that the broker could close it for.
    await client.publish('events', 'thing.after', {}, { message_id: 'msg-after' });
    expect(client.state).toBe('connected');
  });

  it('rejects a publish the broker nacks with AFC_AMQP_NACKED', async () => {
    await expect(client.publish('events', 'nack.me', {}, { message_id: 'msg-nacked' })).rejects.toMatchObject(
      {
        code: amqp_error_codes.nacked,
      },
    );
  });

  it('hands two copies of one message_id delivered together to the handler once', async () => {
    const processed = new Set<string>();
    const calls: string[] = [];
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    await client.consume(
      'dedup',
      async (message) => {
        calls.push(message.message_id);
        await gate;
      },
      {
        prefetch_count: 2,
        is_processed: async (message_id) => processed.has(message_id),
        mark_processed: async (message_id) => {
          processed.add(message_id);
        },
      },
    );
    // Two copies, as after a publish retried because its confirm was lost.
    await client.publish('events', 'dedup.one', { n: 1 }, { message_id: 'msg-copied' });
    await client.publish('events', 'dedup.one', { n: 1 }, { message_id: 'msg-copied' });
    // Both delivered (none left ready) while the first copy's handler is still running.
    await waitUntil(() => calls.length === 1);
    await waitUntil(async () => (await messageCount(model, `${namespace}.dedup`)) === 0);
    open();
    const acks = () =>
      lines.filter((line) => line.includes('"amqp.consumer.acked"') && line.includes('msg-copied'));
    await waitUntil(() => acks().length === 2);
    expect(calls).toEqual(['msg-copied']);
    expect(
      lines.some((line) => line.includes('"amqp.consumer.duplicate"') && line.includes('msg-copied')),
    ).toBe(true);
  });

  it('never has more than max_unconfirmed publishes in flight', async () => {
    const proxy = new HoldingProxy(amqpPort());
    const port = await proxy.start();
    const bounded = new AmqpClient(
      clientOptions(topology, logger, {
        url: proxiedUrl(port),
        max_unconfirmed: 3,
        connection_name: 'bounded',
      }),
    );
    try {
      await bounded.start(10_000);
      let highest = 0;
      let sampling = true;
      const sample = () => {
        highest = Math.max(highest, bounded.unconfirmed_count);
        if (sampling) setImmediate(sample);
      };
      sample();
      // The broker's answers (confirms) are held back: the publisher can only fill its window.
      proxy.hold();
      let settled = 0;
      const ids = Array.from({ length: 10 }, (_, index) => `msg-bounded-${index}`);
      const publishes = ids.map((id) =>
        bounded.publish('events', 'held.one', { id }, { message_id: id }).finally(() => {
          settled += 1;
        }),
      );
      // Asserted below; this only keeps a failing run from also reporting unhandled rejections.
      for (const publish of publishes) publish.catch(() => {});
      const held_queue = `${namespace}.held`;
      await waitUntil(async () => (await messageCount(model, held_queue)) === 3);
      expect(bounded.unconfirmed_count).toBe(3);
      expect(settled).toBe(0);
      proxy.release();
      await Promise.all(publishes);
      sampling = false;
      expect(highest).toBe(3);
      expect(await messageCount(model, held_queue)).toBe(10);
    } finally {
      await bounded.close(5_000);
      await proxy.stop();
    }
  });
});
