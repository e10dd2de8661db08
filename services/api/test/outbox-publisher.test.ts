import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { AmqpClient, isAmqpError, product_topology, queue_names } from '@afc/amqp';
import { createLogger } from '@afc/log';
import { captureLogs, waitUntil } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxPublisher, type OutboxPublisherOptions } from '../src/outbox/outbox-publisher.ts';
import { type Harness, startApi } from './harness.ts';

let h: Harness;
const consumed: string[] = [];

beforeAll(async () => {
  h = await startApi();
  // Rounds are driven by the test: the background loop would take rows at its own moments.
  await h.app.api.outbox.stop(5_000);
  await h.app.amqp.consume(
    queue_names.card_issuance,
    async (message) => {
      consumed.push(message.message_id);
    },
    { prefetch_count: 10 },
  );
});
afterAll(async () => h?.close());

async function insertCommand(exchange: string): Promise<string> {
  const message_id = crypto.randomUUID();
  const payload = { command_id: message_id, card_token: `c-${message_id.slice(0, 8)}` };
  await h.app.postgres.sql`insert into outbox_messages (message_id, exchange, routing_key, payload)
    values (${message_id}, ${exchange}, 'card.issue.requested', ${h.app.postgres.sql.json(payload)})`;
  return message_id;
}

interface RowState {
  message_id: string;
  published: boolean;
  attempts: number;
  last_error: string | null;
  due: boolean;
}

async function rows(): Promise<RowState[]> {
  return h.app.postgres.sql<RowState[]>`
    select message_id::text, published_at is not null as published, attempts, last_error,
           next_attempt_at <= now() as due
    from outbox_messages order by id`;
}

async function outboxMetrics() {
  const body = (await h.app.inject({ url: '/metrics' })).body;
  const value = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(body)?.[1]);
  return {
    pending: value('afc_api_outbox_pending'),
    oldest_positive: value('afc_api_outbox_oldest_pending_seconds') > 0,
    parked: value('afc_api_outbox_parked'),
  };
}

// A publisher of the test's own, on the api's database, with the options a test varies.
function publisherWith(
  options: Pick<OutboxPublisherOptions, 'amqp' | 'logger' | 'publish_timeout_ms' | 'max_refusals'>,
): OutboxPublisher {
  return new OutboxPublisher({
    sql: h.app.postgres.sql,
    batch_size: 10,
    idle_ms: 1_000,
    failure_backoff_min_ms: 100,
    failure_backoff_max_ms: 1_000,
    row_backoff_max_ms: 60_000,
    ...options,
  });
}

// Out of the way of the tests after this one: a refused row due within a second would join
// their rounds (and on a busy machine did).
async function deferRow(message_id: string): Promise<void> {
  await h.app.postgres.sql`update outbox_messages set next_attempt_at = now() + interval '1 hour'
                           where message_id = ${message_id}`;
}

// What a round threw (undefined when it did not).
function failureOf(publisher: OutboxPublisher): Promise<unknown> {
  return publisher.publishBatch().then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('the api outbox publisher', () => {
  it('a message the broker refuses is rescheduled on its own; the round goes on and nothing is sent twice', async () => {
    const first = await insertCommand('events');
    const poison = await insertCommand('no-such-exchange');
    const last = await insertCommand('events');

    expect(await h.app.api.outbox.publishBatch()).toBe(3);
    // Both good rows published and marked; the refusal recorded on its row, which waits its own
    // backoff.
    expect(await rows()).toEqual([
      { message_id: first, published: true, attempts: 1, last_error: null, due: true },
      {
        message_id: poison,
        published: false,
        attempts: 1,
        last_error: expect.stringContaining('no-such-exchange'),
        due: false,
      },
      { message_id: last, published: true, attempts: 1, last_error: null, due: true },
    ]);
    expect(await outboxMetrics()).toEqual({ pending: 1, oldest_positive: true, parked: 0 });
    await waitUntil(() => consumed.includes(first) && consumed.includes(last));
    // Nothing is due: the refused row waits, the others are not sent again.
    expect(await h.app.api.outbox.publishBatch()).toBe(0);
    expect(consumed.filter((id) => id === first || id === last).sort()).toEqual([first, last].sort());
    expect(consumed).not.toContain(poison);
    await deferRow(poison);
  });

  it('a broker it cannot reach charges no row, however many rounds the outage lasts', async () => {
    const before = await rows();
    const silent = createLogger({ name: 'outbox-test', level: 'silent' });
    // Never started, pointed at nothing: every publish waits its budget and finds no connection.
    const unreachable = new AmqpClient({
      url: 'amqp://guest:guest@127.0.0.1:1',
      connection_name: 'outbox-test-unreachable',
      topology: product_topology,
      logger: silent,
    });
    const publisher = publisherWith({
      amqp: unreachable,
      logger: silent,
      publish_timeout_ms: 20,
      max_refusals: 20,
    });
    const waiting = await insertCommand('events');
    try {
      for (let round = 1; round <= 7; round += 1) {
        const failed = await failureOf(publisher);
        expect(isAmqpError(failed, 'AFC_AMQP_NOT_CONNECTED')).toBe(true);
      }
      expect(await rows()).toEqual([
        ...before,
        { message_id: waiting, published: false, attempts: 0, last_error: null, due: true },
      ]);
    } finally {
      await unreachable.close(1_000);
    }
    // Published by the api's own publisher once it has a broker, as a first attempt.
    expect(await h.app.api.outbox.publishBatch()).toBe(1);
    expect((await rows()).at(-1)).toMatchObject({ message_id: waiting, published: true, attempts: 1 });
  });

  it('a message refused max_refusals times is parked: not read again, not pending, listed, and requeued by pnpm outbox', async () => {
    // Other tests' rows out of the way (as each leaves them): this test counts parked rows and rounds.
    await h.app.postgres.sql`update outbox_messages set next_attempt_at = now() + interval '1 hour'
                             where published_at is null`;
    const { lines, destination } = captureLogs();
    const publisher = publisherWith({
      amqp: h.app.amqp,
      logger: createLogger({ name: 'outbox-test', level: 'info', destination }),
      publish_timeout_ms: 5_000,
      max_refusals: 2,
    });
    const poison = await insertCommand('no-such-exchange');
    const makeDue = () =>
      h.app.postgres.sql`update outbox_messages set next_attempt_at = now() where message_id = ${poison}`;
    const state = async () => {
      const [row] = await h.app.postgres.sql<{ attempts: number; parked: boolean; published: boolean }[]>`
        select attempts, parked_at is not null as parked, published_at is not null as published
        from outbox_messages where message_id = ${poison}`;
      return row;
    };
    // Many stalled connections were charged to it before (a long broker alarm): they delay it,
    // but only refusals park it.
    await h.app.postgres.sql`update outbox_messages set attempts = 30 where message_id = ${poison}`;
    expect(await publisher.publishBatch()).toBe(1);
    expect(await state()).toEqual({ attempts: 31, parked: false, published: false });
    await makeDue();
    expect(await publisher.publishBatch()).toBe(1);
    expect(await state()).toEqual({ attempts: 32, parked: true, published: false });
    // Due or not, a parked row is never read again by the publisher.
    await makeDue();
    expect(await publisher.publishBatch()).toBe(0);
    expect(await state()).toEqual({ attempts: 32, parked: true, published: false });
    expect((await outboxMetrics()).parked).toBe(1);
    const parked_logs = lines.map((line) => JSON.parse(line)).filter((l) => l.event === 'api.outbox.parked');
    expect(parked_logs).toEqual([
      expect.objectContaining({
        level: 'error',
        message_id: poison,
        attempts: 32,
        refusals: 2,
        reason: expect.stringContaining('no-such-exchange'),
      }),
    ]);

    const run = promisify(execFile);
    const cli = fileURLToPath(new URL('../src/outbox/outbox-cli.ts', import.meta.url));
    const outbox = (...args: string[]) =>
      run(process.execPath, ['--conditions=@afc/source', cli, ...args], {
        env: { ...process.env, DATABASE_URL: h.database.url, LOG_LEVEL: 'error' },
        timeout: 30_000,
      });
    const listed = await outbox();
    expect(listed.stdout).toContain(poison);
    expect(listed.stdout).toContain('no-such-exchange');
    expect(listed.stdout).toContain('1 parked command(s) shown.');
    // An id that is not parked is reported and fails the run; the parked one is requeued.
    const unknown = crypto.randomUUID();
    const partly = outbox('--requeue', poison, unknown);
    await expect(partly).rejects.toMatchObject({
      code: 1,
      stdout: expect.stringContaining(`1 command(s) requeued.\n${poison}`),
    });
    await expect(partly).rejects.toMatchObject({
      stdout: expect.stringContaining(`Not parked (unknown, published or still retried): ${unknown}`),
    });
    expect(await state()).toEqual({ attempts: 0, parked: false, published: false });
    expect((await outboxMetrics()).parked).toBe(0);
    expect((await outbox()).stdout).toContain('No parked commands.');
    // Requeued: due at once, a first attempt again (refused again here: the exchange is still missing).
    expect(await publisher.publishBatch()).toBe(1);
    expect(await state()).toEqual({ attempts: 1, parked: false, published: false });
    await deferRow(poison);
    await expect(outbox('--requeue', 'not-a-uuid')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('not a message id (a UUID): not-a-uuid'),
    });
  }, 60_000);

  // Last in this file: it closes the api's broker client.
  it('the broker connection gone: rounds stop without charging a row, until the same row stopped five in a row; a charge never parks', async () => {
    const before = await rows();
    // Parks at its first refusal: a stall charged to a row must still not park it.
    const publisher = publisherWith({
      amqp: h.app.amqp,
      logger: createLogger({ name: 'outbox-test', level: 'silent' }),
      publish_timeout_ms: 1_000,
      max_refusals: 1,
    });
    await h.app.amqp.close(5_000);
    const waiting = await insertCommand('events');
    for (let round = 1; round <= 4; round += 1) {
      const failed = await failureOf(publisher);
      expect(isAmqpError(failed)).toBe(true);
      expect(isAmqpError(failed, 'AFC_AMQP_UNROUTABLE') || isAmqpError(failed, 'AFC_AMQP_NACKED')).toBe(
        false,
      );
      expect(await rows()).toEqual([
        ...before,
        { message_id: waiting, published: false, attempts: 0, last_error: null, due: true },
      ]);
    }
    // The fifth stop on the same message charges it: it waits its own backoff, the rest go on.
    expect(await publisher.publishBatch()).toBe(1);
    expect((await rows()).at(-1)).toMatchObject({
      message_id: waiting,
      published: false,
      attempts: 1,
      due: false,
    });
    const [charged] = await h.app.postgres.sql<{ parked: boolean }[]>`
      select parked_at is not null as parked from outbox_messages where message_id = ${waiting}`;
    expect(charged).toEqual({ parked: false });
  });
});
