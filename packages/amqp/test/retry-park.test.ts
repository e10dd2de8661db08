import { waitUntil } from '@afc/testkit';
import type { ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpClient, header_names, type MessageContext } from '../src/index.ts';
import {
  captureLogger,
  clientOptions,
  deleteTopology,
  inspector,
  messageCount,
  testTopology,
} from './helpers.ts';

const topology = testTopology([
  {
    name: 'retried',
    bindings: [{ exchange: 'events', routing_keys: ['retry.#'] }],
    retry_delays_ms: [50, 100],
  },
  // One attempt: a failure parks at once, which makes parked messages quick to produce.
  {
    name: 'single',
    bindings: [{ exchange: 'events', routing_keys: ['single.#'] }],
    max_attempts: 1,
    retry_delays_ms: [],
  },
  {
    name: 'hung',
    bindings: [{ exchange: 'events', routing_keys: ['hung.#'] }],
    max_attempts: 1,
    retry_delays_ms: [],
  },
]);
const namespace = topology.namespace ?? '';
const retried_queue = `${namespace}.retried`;

interface Call {
  readonly message_id: string;
  readonly attempt: number;
  readonly routing_key: string;
  readonly headers: Readonly<Record<string, unknown>>;
}

describe('retries, parking and replay', () => {
  const { logger, lines } = captureLogger();
  const calls: Call[] = [];
  // What the handler does with a message: fail with a reason, or succeed.
  const failures_left = new Map<string, number>();
  const failing_single = new Set<string>();
  const aborted: string[] = [];
  let client: AmqpClient;
  let model: ChannelModel;

  const callsOf = (message_id: string) =>
    calls.filter((call) => call.message_id === message_id).map(({ headers: _headers, ...call }) => call);
  const acked = (message_id: string) =>
    lines.some(
      (line) => line.includes('"amqp.consumer.acked"') && line.includes(`"message_id":"${message_id}"`),
    );

  beforeAll(async () => {
    client = new AmqpClient(clientOptions(topology, logger));
    await client.start(10_000);
    const handler = async (message: MessageContext) => {
      const { message_id, attempt, routing_key, headers } = message;
      calls.push({ message_id, attempt, routing_key, headers });
      const left = failures_left.get(message.message_id) ?? 0;
      if (left > 0) {
        failures_left.set(message.message_id, left - 1);
        throw new Error(`ledger unavailable for ${message.message_id}`);
      }
      if (failing_single.has(message.message_id)) throw new Error('card state conflict');
    };
    await client.consume('retried', handler, { prefetch_count: 5, handler_timeout_ms: 5_000 });
    await client.consume('single', handler, { prefetch_count: 5, handler_timeout_ms: 5_000 });
    // Never finishes on its own: only the abort signal of handler_timeout_ms ends it.
    await client.consume(
      'hung',
      (message) =>
        new Promise<void>((resolve) => {
          message.signal.addEventListener('abort', () => {
            aborted.push(message.message_id);
            resolve();
          });
        }),
      { prefetch_count: 1, handler_timeout_ms: 100 },
    );
    model = await inspector();
  });

  afterAll(async () => {
    await client?.close(5_000);
    await model?.close();
    await deleteTopology(topology);
  });

  it('retries a handler that always fails through each delay tier and parks it after exactly 3 attempts', async () => {
    failures_left.set('msg-always', Number.MAX_SAFE_INTEGER);
    await client.publish('events', 'retry.always', { n: 1 }, { message_id: 'msg-always' });
    let parked: Awaited<ReturnType<AmqpClient['listParked']>> = [];
    await waitUntil(async () => {
      parked = await client.listParked('retried', 10);
      return parked.some((message) => message.message_id === 'msg-always');
    });
    expect(callsOf('msg-always')).toEqual([
      { message_id: 'msg-always', attempt: 1, routing_key: 'retry.always' },
      { message_id: 'msg-always', attempt: 2, routing_key: 'retry.always' },
      { message_id: 'msg-always', attempt: 3, routing_key: 'retry.always' },
    ]);
    const message = parked.find((candidate) => candidate.message_id === 'msg-always');
    expect(message).toMatchObject({
      park_reason: 'ledger unavailable for msg-always',
      attempts: 3,
      original_exchange: `${namespace}.events`,
      original_routing_key: 'retry.always',
      body: '{"n":1}',
    });
    expect(Number.isNaN(Date.parse(message?.first_failed_at ?? ''))).toBe(false);
    // The broker's own record: it went through tier 1 and tier 2, each expiring once.
    const deaths = (message?.headers['x-death'] ?? []) as { queue: string; reason: string; count: number }[];
    const expired = deaths.filter((death) => death.reason === 'expired').map((death) => death.queue);
    expect(expired.sort()).toEqual([`${retried_queue}.retry.1`, `${retried_queue}.retry.2`]);
  });

  it('acks a handler that fails twice then succeeds, and parks nothing', async () => {
    failures_left.set('msg-flaky', 2);
    await client.publish('events', 'retry.flaky', { n: 2 }, { message_id: 'msg-flaky' });
    await waitUntil(() => callsOf('msg-flaky').length === 3);
    expect(callsOf('msg-flaky').map((call) => call.attempt)).toEqual([1, 2, 3]);
    // Each failed delivery was acked after its retry copy was confirmed, and so was the success.
    await waitUntil(
      () =>
        lines.filter((line) => line.includes('"amqp.consumer.acked"') && line.includes('msg-flaky'))
          .length === 3,
    );
    expect(acked('msg-flaky')).toBe(true);
    expect(await messageCount(model, retried_queue)).toBe(0);
    const parked = await client.listParked('retried', 50);
    expect(parked.filter((message) => message.message_id === 'msg-flaky')).toEqual([]);
  });

  it('parks a poison message (no message_id, or a body that is not JSON) at once', async () => {
    const channel = await model.createConfirmChannel();
    const exchange = `${namespace}.events`;
    channel.publish(exchange, 'single.poison', Buffer.from('{"fine":true}'), { persistent: true });
    channel.publish(exchange, 'single.poison', Buffer.from('{not json'), {
      persistent: true,
      messageId: 'msg-garbled',
    });
    await channel.waitForConfirms();
    await channel.close();
    let parked: Awaited<ReturnType<AmqpClient['listParked']>> = [];
    await waitUntil(async () => {
      parked = await client.listParked('single', 50);
      return parked.filter((message) => message.original_routing_key === 'single.poison').length === 2;
    });
    const reasons = parked
      .filter((message) => message.original_routing_key === 'single.poison')
      .map((message) => [message.message_id, message.park_reason]);
    expect(reasons).toContainEqual([undefined, 'poison: missing message_id']);
    expect(reasons).toContainEqual(['msg-garbled', expect.stringMatching(/^poison: unparseable body/)]);
    expect(calls.filter((call) => call.routing_key === 'single.poison')).toEqual([]);
  });

  it('fails a handler that outlives handler_timeout_ms, aborts its signal and parks the message', async () => {
    await client.publish('events', 'hung.one', {}, { message_id: 'msg-hung' });
    let parked: Awaited<ReturnType<AmqpClient['listParked']>> = [];
    await waitUntil(async () => {
      parked = await client.listParked('hung', 10);
      return parked.length === 1;
    });
    expect(parked[0]).toMatchObject({
      message_id: 'msg-hung',
      park_reason: 'handler timed out after 100 ms',
    });
    expect(aborted).toEqual(['msg-hung']);
  });

  it('lists parked messages without removing them and replays only the chosen ones', async () => {
    const ids = ['msg-park-a', 'msg-park-b', 'msg-park-c'];
    for (const id of ids) failing_single.add(id);
    await Promise.all(ids.map((id) => client.publish('events', 'single.park', { id }, { message_id: id })));
    const parkedIds = async () =>
      (await client.listParked('single', 50))
        .map((message) => message.message_id)
        .filter((id) => ids.includes(id ?? ''));
    await waitUntil(async () => (await parkedIds()).length === 3);
    // Listing twice sees the same messages: listing is not consuming.
    expect((await parkedIds()).sort()).toEqual(ids);

    failing_single.delete('msg-park-b');
    const report = await client.replayParked('single', { message_ids: ['msg-park-b'], max: 50 });
    expect(report.replayed).toEqual(['msg-park-b']);
    await waitUntil(() => callsOf('msg-park-b').length === 2);
    // Replayed with a fresh attempt count and the original routing key.
    expect(callsOf('msg-park-b')[1]).toEqual({
      message_id: 'msg-park-b',
      attempt: 1,
      routing_key: 'single.park',
    });
    const replayed = calls.filter((call) => call.message_id === 'msg-park-b')[1]?.headers ?? {};
    expect(typeof replayed[header_names.replayed_at]).toBe('string');
    expect(replayed[header_names.park_reason]).toBeUndefined();
    expect(replayed[header_names.attempt]).toBeUndefined();
    await waitUntil(() => acked('msg-park-b'));
    expect((await parkedIds()).sort()).toEqual(['msg-park-a', 'msg-park-c']);
  });
});
