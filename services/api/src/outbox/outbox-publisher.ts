import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { type AmqpClient, amqp_error_codes, isAmqpError } from '@afc/amqp';
import type { Logger } from '@afc/log';
import { backoffDelay, type Sql, type TransactionSql } from '@afc/postgres';

export interface OutboxPublisherOptions {
  readonly sql: Sql;
  readonly amqp: Pick<AmqpClient, 'publish'>;
  readonly logger: Logger;
  readonly batch_size: number;
  readonly publish_timeout_ms: number;
  // Polling interval when the outbox is empty and nobody woke us.
  readonly idle_ms: number;
  readonly failure_backoff_min_ms: number;
  readonly failure_backoff_max_ms: number;
  // The longest one message waits between its own attempts.
  readonly row_backoff_max_ms: number;
  // Refusals of one message (the stalls charged to it do not count) after which it is parked:
  // kept unpublished with its last error, never tried again until an operator requeues it
  // (`pnpm outbox`).
  readonly max_refusals: number;
}

// A failure of the connection to the broker (it says nothing about the message); anything else
// (unroutable, nacked, an error that is not the AMQP client's) is the message's own: another
// attempt of the same message may fail again, while the messages behind it can go.
function connectionFailure(error: unknown): boolean {
  return (
    isAmqpError(error, amqp_error_codes.closed) ||
    isAmqpError(error, amqp_error_codes.not_connected) ||
    isAmqpError(error, amqp_error_codes.publish_timeout)
  );
}

// Not connected for the whole publish budget: the message never reached the wire, so it cannot
// be what broke the connection, and a broker outage charges no row however long it lasts.
function neverSent(error: unknown): boolean {
  return isAmqpError(error, amqp_error_codes.not_connected);
}

// Rounds in a row stopped by a connection failure on the same message while it was sent, after
// which that message is charged all the same: a message that breaks the connection each time
// it is sent (a frame the broker refuses) would otherwise hold back every message behind it.
const stalls_before_charge = 5;

// Attempts of one message (refusals and charged stalls) after which each further failure is
// logged as an error.
const stuck_after_attempts = 10;

interface OutboxRow {
  id: number;
  message_id: string;
  exchange: string;
  routing_key: string;
  payload: Record<string, unknown>;
  headers: Record<string, unknown>;
  attempts: number;
  refusals: number;
}

// Moves commands from outbox_messages to RabbitMQ: a command is committed with the change it
// announces, so it is published at least once even if the process dies right after the commit.
// Rows are locked with `skip locked`, so several API instances share the work without
// publishing a row twice at the same moment (a crash after the confirm and before the update
// does publish it again: consumers deduplicate by message_id).
export class OutboxPublisher {
  readonly #options: OutboxPublisherOptions;
  #running: Promise<void> | undefined;
  #stopping = new AbortController();
  #wake: AbortController = new AbortController();
  #failures = 0;
  #stall: { row_id: number; count: number } | undefined;

  constructor(options: OutboxPublisherOptions) {
    assert.ok(Number.isInteger(options.batch_size) && options.batch_size > 0, 'batch_size > 0');
    assert.ok(options.failure_backoff_min_ms <= options.failure_backoff_max_ms, 'backoff bounds');
    assert.ok(Number.isSafeInteger(options.max_refusals) && options.max_refusals >= 1, 'max_refusals >= 1');
    this.#options = options;
  }

  start(): void {
    assert.equal(this.#running, undefined, 'the outbox publisher is already running');
    this.#running = this.#loop();
  }

  // After a commit that added a row: publish now instead of at the next poll.
  wake(): void {
    this.#wake.abort();
  }

  async stop(timeout_ms: number): Promise<void> {
    this.#stopping.abort();
    this.#wake.abort();
    if (this.#running === undefined) return;
    await Promise.race([this.#running, sleep(timeout_ms, undefined, { ref: false })]);
  }

  // Rows handled in one round (published, or refused and rescheduled or parked); 0 when nothing
  // is due.
  // A refusal of one message (unroutable, nacked) is recorded on its row, which waits its own
  // backoff while the round goes on. A failure of the broker connection (closed, not connected,
  // no confirm in time) stops the round without charging any row, and is thrown after the
  // round's outcome is committed: rows published before it are marked, never sent again.
  async publishBatch(): Promise<number> {
    const { sql, batch_size } = this.#options;
    const round = await sql.begin(async (tx) => {
      const rows = await tx<OutboxRow[]>`
        select id, message_id, exchange, routing_key, payload, headers, attempts, refusals from outbox_messages
        where published_at is null and parked_at is null and next_attempt_at <= clock_timestamp()
        order by id limit ${batch_size} for update skip locked`;
      const published: number[] = [];
      const refused: { row: OutboxRow; error: unknown }[] = [];
      let stopped: { error: unknown } | undefined;
      for (const row of rows) {
        try {
          await this.#publishRow(row);
          published.push(row.id);
        } catch (error) {
          if (neverSent(error) || (connectionFailure(error) && !this.#stalledTooOften(row.id))) {
            stopped = { error };
            break;
          }
          refused.push({ row, error });
        }
      }
      if (stopped === undefined) this.#stall = undefined;
      if (published.length > 0) {
        await tx`update outbox_messages set published_at = now(), attempts = attempts + 1, last_error = null
                 where id = any(${published}::bigint[])`;
      }
      for (const { row, error } of refused)
        await this.#recordFailure(tx, row, error, !connectionFailure(error));
      return { handled: published.length + refused.length, stopped };
    });
    if (round.stopped !== undefined) throw round.stopped.error;
    return round.handled;
  }

  // Counts rounds stopped on this row in a row; true once it is time to charge it.
  #stalledTooOften(row_id: number): boolean {
    const count = this.#stall?.row_id === row_id ? this.#stall.count + 1 : 1;
    this.#stall = count >= stalls_before_charge ? undefined : { row_id, count };
    return count >= stalls_before_charge;
  }

  async #publishRow(row: OutboxRow): Promise<void> {
    await this.#options.amqp.publish(row.exchange, row.routing_key, row.payload, {
      message_id: row.message_id,
      headers: row.headers,
      confirm_timeout_ms: this.#options.publish_timeout_ms,
    });
  }

  // refused: the broker (or our client) refused the message itself. A stalled connection charged
  // to the row (stalls_before_charge) delays it like a refusal but is no refusal: a broker that
  // blocks publishers for hours (a memory or disk alarm) must not bring healthy commands to the
  // edge of parking.
  async #recordFailure(tx: TransactionSql, row: OutboxRow, error: unknown, refused: boolean): Promise<void> {
    const attempts = row.attempts + 1;
    const refusals = row.refusals + (refused ? 1 : 0);
    const reason = (error instanceof Error ? error.message : String(error)).slice(0, 500);
    const failure = { outbox_id: row.id, message_id: row.message_id, attempts, refusals, reason };
    if (refused && refusals >= this.#options.max_refusals) {
      await tx`update outbox_messages
               set attempts = ${attempts}, refusals = ${refusals}, last_error = ${reason},
                   parked_at = clock_timestamp()
               where id = ${row.id}`;
      this.#options.logger.error(
        { event: 'api.outbox.parked', ...failure },
        'an outbox message was refused too often: parked until an operator requeues it',
      );
      return;
    }
    // From 1 s, doubling, jittered, at most row_backoff_max_ms.
    const retry_in_ms = backoffDelay(attempts, {
      base_delay_ms: 1_000,
      max_delay_ms: this.#options.row_backoff_max_ms,
    });
    await tx`update outbox_messages
             set attempts = ${attempts}, refusals = ${refusals}, last_error = ${reason},
                 next_attempt_at = clock_timestamp() + ${retry_in_ms}::int * interval '1 millisecond'
             where id = ${row.id}`;
    // A message refused this often will not go by itself: someone must look before it parks.
    if (attempts >= stuck_after_attempts) {
      this.#options.logger.error(
        { event: 'api.outbox.stuck', ...failure, retry_in_ms },
        'an outbox message keeps failing to publish',
      );
    }
  }

  async #loop(): Promise<void> {
    const { logger } = this.#options;
    while (!this.#stopping.signal.aborted) {
      const wake = this.#wake.signal;
      let delay_ms: number;
      let failed = false;
      try {
        const handled = await this.publishBatch();
        this.#failures = 0;
        // A full batch means more may be waiting: go on at once.
        delay_ms = handled === this.#options.batch_size ? 0 : this.#options.idle_ms;
      } catch (error) {
        failed = true;
        this.#failures += 1;
        delay_ms = this.#backoff();
        logger.warn({ err: error, failures: this.#failures, retry_in_ms: delay_ms }, 'outbox publish failed');
      }
      // A wake-up cuts an idle wait short, never a backoff (only stopping does).
      const signal = failed ? this.#stopping.signal : wake;
      if (delay_ms > 0 && !signal.aborted) await sleep(delay_ms, undefined, { signal }).catch(() => {});
      if (this.#wake.signal.aborted) this.#wake = new AbortController();
    }
  }

  // Exponential with full jitter, bounded.
  #backoff(): number {
    const { failure_backoff_min_ms: min, failure_backoff_max_ms: max } = this.#options;
    const ceiling = Math.min(max, min * 2 ** Math.min(this.#failures, 20));
    return Math.round(min + Math.random() * (ceiling - min));
  }
}
