import { Writable } from 'node:stream';
import { AmqpClient, product_topology, queue_names } from '@afc/amqp';
import { OutboxEvent } from '@afc/card-state';
import { createLogger } from '@afc/log';
import { formatMinor } from '@afc/money';
import { localServiceUrls, TcpProxy, waitUntil } from '@afc/testkit';
import { Value } from '@sinclair/typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, jitBody, jitTokenOf, postJit, startAuthorizer } from './harness.ts';
import { metricValue } from './metric-value.ts';
import { type SeededCard, seedBusinessCard } from './seed.ts';

// The outbox promise end to end: every decision the script made reaches the `settlement` queue
// with its event id as message id, also across a RabbitMQ outage of the authorizer (its
// connection goes through a proxy we cut), while decisions never wait on the broker.

const amqp_port = Number(new URL(localServiceUrls.amqp).port || 5672);
const per_transaction_limit_minor = 400;
const blocked_mcc = '7995';
const default_mcc = '5411';
const default_mid = '000000000011111';
const merchant_name = 'Neighbourhood Grocer';

interface Consumed {
  readonly message_id: string;
  readonly routing_key: string;
  readonly payload: unknown;
  readonly attempt: number;
}

interface Expected {
  readonly jit_token: string;
  readonly card: SeededCard;
  readonly amount_minor: number;
  readonly mcc: string;
  readonly decline_reason: string | undefined;
}

const proxy = new TcpProxy({ target_port: amqp_port });
const consumed: Consumed[] = [];
// event_id → what the request and the rules say the event must carry.
const expected = new Map<string, Expected>();
let h: Harness;
let consumer: AmqpClient;

beforeAll(async () => {
  const port = await proxy.start();
  h = await startAuthorizer({ amqp_url: `amqp://guest:guest@127.0.0.1:${port}` });
  // Quiet: the assertions say what went wrong, not the consumer's reconnect warnings.
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  // Our own connection, straight to the broker: cutting the proxy never touches it.
  consumer = new AmqpClient({
    url: localServiceUrls.amqp,
    connection_name: 'outbox-relay-test-consumer',
    topology: { ...product_topology, namespace: h.namespace },
    logger: createLogger({ name: 'outbox-relay-test', level: 'warn', destination: sink }),
    confirm_timeout_ms: 5_000,
  });
  await consumer.start(10_000);
  await consumer.consume(
    queue_names.settlement,
    async (message) => {
      consumed.push({
        message_id: message.message_id,
        routing_key: message.routing_key,
        payload: message.payload,
        attempt: message.attempt,
      });
    },
    { prefetch_count: 100, handler_timeout_ms: 5_000 },
  );
});

afterAll(async () => {
  proxy.restore();
  await consumer?.close(5_000);
  await h?.close();
  await proxy.stop();
});

// The rules these cards have, in the script's order: merchant, then per-transaction limit.
function ruling(amount_minor: number, mcc: string): string | undefined {
  if (mcc === blocked_mcc) return 'INVALID_MERCHANT';
  if (amount_minor > per_transaction_limit_minor) return 'AMOUNT_LIMIT_EXCEEDED';
  return undefined;
}

function eventIdOf(expectation: Expected): string {
  const type = expectation.decline_reason === undefined ? 'authorization.approved' : 'authorization.declined';
  return `${expectation.jit_token}:${type}`;
}

// One authorization; its answer must be what the rules say, whatever RabbitMQ is doing.
async function authorize(card: SeededCard, amount_minor: number, mcc: string) {
  const body = jitBody({ ...card, amount: formatMinor(amount_minor, 'USD'), mcc });
  const jit_token = jitTokenOf(body);
  const decline_reason = ruling(amount_minor, mcc);
  const expectation = { jit_token, card, amount_minor, mcc, decline_reason };
  expected.set(eventIdOf(expectation), expectation);
  const response = await postJit(h.app, body);
  const funding = (response.json() as { jit_funding: Record<string, unknown> }).jit_funding;
  expect(response.statusCode, jit_token).toBe(decline_reason === undefined ? 200 : 402);
  expect(funding.decline_reason, jit_token).toBe(decline_reason);
}

function checkEvent(message: Consumed): void {
  const valid = Value.Check(OutboxEvent, message.payload);
  const first_error = valid ? undefined : Value.Errors(OutboxEvent, message.payload).First();
  expect(valid, `${message.message_id}: ${first_error?.path} ${first_error?.message}`).toBe(true);
  const event = message.payload as OutboxEvent;
  expect(event.event_id).toBe(message.message_id);
  expect(event.type).toBe(message.routing_key);
  const want = expected.get(message.message_id);
  expect(want, `unexpected event ${message.message_id}`).toBeDefined();
  if (want === undefined) return;
  expect(event).toMatchObject({
    jit_token: want.jit_token,
    kind: 'authorization',
    method: 'pgfs.authorization',
    card_token: want.card.card_token,
    user_token: want.card.user_token,
    program: 'business',
    amount_minor: want.amount_minor,
    currency: 'USD',
    merchant: { mcc: want.mcc, mid: default_mid, country: 'USA', name: merchant_name },
  });
  expect(event.decline_reason).toBe(want.decline_reason);
  // An approval holds exactly its amount; a decline holds nothing.
  if (want.decline_reason === undefined) expect(event.hold?.amount_minor).toBe(want.amount_minor);
  else expect(event.hold).toBeNull();
}

function duplicatesOf(messages: readonly Consumed[]): Map<string, Consumed[]> {
  const by_id = new Map<string, Consumed[]>();
  for (const message of messages)
    by_id.set(message.message_id, [...(by_id.get(message.message_id) ?? []), message]);
  return new Map([...by_id].filter(([, copies]) => copies.length > 1));
}

async function allExpectedConsumed(): Promise<void> {
  await waitUntil(
    () => {
      const seen = new Set(consumed.map((message) => message.message_id));
      return [...expected.keys()].every((id) => seen.has(id));
    },
    { timeout_ms: 20_000, message: 'every decision event consumed' },
  );
  await waitUntil(async () => (await h.app.authorizer.relay.backlog()) === 0, {
    timeout_ms: 10_000,
    message: 'outbox backlog back to 0',
  });
}

describe('outbox relay to RabbitMQ', () => {
  it('publishes approvals and declines with event_id as message_id and the decision in the payload', async () => {
    const card = await seedBusinessCard(h.app.postgres.sql, {
      controls: { per_transaction_limit_minor, mcc_block: [blocked_mcc] },
    });
    await authorize(card, 150, default_mcc);
    await authorize(card, 400, default_mcc);
    await authorize(card, 401, default_mcc);
    await authorize(card, 20, blocked_mcc);
    await allExpectedConsumed();

    expect(new Set(consumed.map((message) => message.message_id))).toEqual(new Set(expected.keys()));
    for (const message of consumed) checkEvent(message);
    // No connection was cut: at-least-once must not have delivered anything twice.
    expect(duplicatesOf(consumed).size).toBe(0);
    expect(consumed.map((message) => message.routing_key).sort()).toEqual([
      'authorization.approved',
      'authorization.approved',
      'authorization.declined',
      'authorization.declined',
    ]);
  });

  it('keeps deciding through a broker outage, then delivers every event by id once the broker returns', async () => {
    const cards = await Promise.all(
      [1, 2, 3].map(() =>
        seedBusinessCard(h.app.postgres.sql, {
          controls: { per_transaction_limit_minor, mcc_block: [blocked_mcc] },
        }),
      ),
    );
    const per_lane = 50;
    const cut_after = 50;
    let completed = 0;
    let started_after_cut = 0;
    let cut = false;
    let unconfirmed_at_cut = 0;
    // One lane per card, sequential within it: each card's outcomes follow from its own
    // requests, while three decisions are in flight at a time.
    const lane = async (card: SeededCard) => {
      for (let index = 0; index < per_lane; index += 1) {
        if (cut) started_after_cut += 1;
        const amount_minor = 1 + Math.floor(Math.random() * 500);
        await authorize(card, amount_minor, index % 7 === 3 ? blocked_mcc : default_mcc);
        completed += 1;
        if (completed === cut_after) {
          // Read and cut in one synchronous step (the relay runs in this process): the publishes
          // written and unconfirmed at this instant are the only ones the cut can duplicate.
          unconfirmed_at_cut = h.app.amqp.unconfirmed_count;
          proxy.cut();
          cut = true;
        }
      }
    };
    await Promise.all(cards.map(lane));
    expect(cut).toBe(true);
    expect(started_after_cut).toBeGreaterThan(0);
    // Nothing decided after the cut can have been confirmed by the broker: it waits in the outbox.
    expect(await h.app.authorizer.relay.backlog()).toBeGreaterThanOrEqual(started_after_cut);
    // And the metric says so.
    const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metricValue(metrics, 'afc_outbox_backlog', {})).toBeGreaterThanOrEqual(started_after_cut);

    proxy.restore();
    await allExpectedConsumed();

    // Across the whole file: exactly the decisions we made, each at least once.
    expect(new Set(consumed.map((message) => message.message_id))).toEqual(new Set(expected.keys()));
    for (const message of consumed) checkEvent(message);
    // Our consumer never failed a message, so the broker had nothing to redeliver to us.
    expect(consumed.every((message) => message.attempt === 1)).toBe(true);
    // A duplicate only comes from a publish that was in flight when the connection was cut
    // (the broker took it, its confirm was lost, the relay published it again): the same event.
    const duplicates = duplicatesOf(consumed);
    expect(duplicates.size).toBeLessThanOrEqual(unconfirmed_at_cut);
    for (const copies of duplicates.values()) {
      expect(copies.length).toBe(2);
      for (const copy of copies) expect(copy.payload).toEqual(copies[0]?.payload);
    }
    expect(await h.app.authorizer.relay.backlog()).toBe(0);
  });
});
