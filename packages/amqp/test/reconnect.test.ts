import { TcpProxy, waitUntil } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AmqpClient,
  type AmqpErrorCode,
  amqp_error_codes,
  type ConnectionState,
  isAmqpError,
} from '../src/index.ts';
import {
  amqpPort,
  captureLogger,
  clientOptions,
  deleteTopology,
  proxiedUrl,
  testTopology,
} from './helpers.ts';

const topology = testTopology([
  { name: 'flow', bindings: [{ exchange: 'events', routing_keys: ['flow.#'] }], retry_delays_ms: [50, 100] },
]);

describe('a connection cut under load', () => {
  const { logger } = captureLogger();
  const proxy = new TcpProxy({ target_port: amqpPort() });
  const states: ConnectionState[] = [];
  // Handler calls per message_id, and the idempotency store the hooks use.
  const handled = new Map<string, number>();
  const processed = new Set<string>();
  let client: AmqpClient;

  beforeAll(async () => {
    const port = await proxy.start();
    client = new AmqpClient(clientOptions(topology, logger, { url: proxiedUrl(port), max_unconfirmed: 20 }));
    client.on('state', (state) => states.push(state));
    await client.start(10_000);
    await client.consume(
      'flow',
      async (message) => {
        handled.set(message.message_id, (handled.get(message.message_id) ?? 0) + 1);
      },
      {
        prefetch_count: 20,
        handler_timeout_ms: 5_000,
        is_processed: async (message_id) => processed.has(message_id),
        mark_processed: async (message_id) => {
          processed.add(message_id);
        },
      },
    );
  });

  afterAll(async () => {
    await client?.close(5_000);
    await proxy.stop();
    await deleteTopology(topology);
  });

  it('resumes by itself; every confirmed message is handled exactly once, none left hanging', async () => {
    const confirmed = new Set<string>();
    const rejected = new Map<string, AmqpErrorCode>();
    const publishOne = (id: string) =>
      client.publish('events', 'flow.item', { id }, { message_id: id }).then(
        () => {
          confirmed.add(id);
        },
        (error: unknown) => {
          if (!isAmqpError(error)) throw error;
          rejected.set(id, error.code);
        },
      );
    // A producer that keeps going through the outage, in batches, like the outbox relay.
    let stop = false;
    let next = 0;
    const producer = (async () => {
      while (!stop && next < 5_000) {
        const batch = Array.from({ length: 10 }, () => `msg-flow-${next++}`);
        await Promise.all(batch.map(publishOne));
      }
    })();
    await waitUntil(() => confirmed.size >= 50);
    proxy.cut();
    await waitUntil(() => states.at(-1) === 'reconnecting');
    const sent_before_restore = next;
    proxy.restore();
    await waitUntil(() => states.at(-1) === 'connected');
    // Traffic resumed: messages created after the restore get confirmed.
    await waitUntil(
      () => [...confirmed].filter((id) => Number(id.slice(9)) >= sent_before_restore).length >= 50,
    );
    stop = true;
    await producer;

    // Every publish settled (the producer finished), each either confirmed or rejected with a code.
    expect(confirmed.size + rejected.size).toBe(next);
    const codes = new Set(rejected.values());
    for (const code of codes) {
      expect([
        amqp_error_codes.closed,
        amqp_error_codes.not_connected,
        amqp_error_codes.publish_timeout,
      ]).toContain(code);
    }
    // The caller's retry with the same message_id, as the outbox relay does.
    for (const id of rejected.keys()) await publishOne(id);
    const all = Array.from({ length: next }, (_, index) => `msg-flow-${index}`);
    expect(all.every((id) => confirmed.has(id))).toBe(true);

    await waitUntil(() => all.every((id) => handled.has(id)));
    expect(all.filter((id) => handled.get(id) !== 1)).toEqual([]);
    expect(states.filter((state) => state === 'connected').length).toBeGreaterThanOrEqual(2);
  });

  it('fails a publish with AFC_AMQP_NOT_CONNECTED while down, then delivers once the broker is back', async () => {
    proxy.cut();
    await waitUntil(() => client.state === 'reconnecting');
    await expect(
      client.publish('events', 'flow.late', {}, { message_id: 'msg-refused', confirm_timeout_ms: 200 }),
    ).rejects.toMatchObject({ code: amqp_error_codes.not_connected });
    const waiting = client.publish(
      'events',
      'flow.late',
      {},
      { message_id: 'msg-waited', confirm_timeout_ms: 10_000 },
    );
    proxy.restore();
    await waiting;
    await waitUntil(() => handled.get('msg-waited') === 1);
    expect(handled.has('msg-refused')).toBe(false);
  });
});
