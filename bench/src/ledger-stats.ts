import { AmqpClient, product_topology, queue_names } from '@afc/amqp';
import type { Logger } from '@afc/log';
import { localServiceUrls } from '@afc/testkit';
import postgres from 'postgres';
import type { Isolation } from './isolation.ts';

// What the end-to-end run reads from the ledger and the settlement queue: rows written, the
// lag from the authorizer's decision to the row, and what is still on its way.

export interface LagMs {
  readonly events: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

const round3 = (value: number) => Math.round(value * 1_000) / 1_000;

export class LedgerReader {
  readonly #sql: postgres.Sql;

  constructor(isolation: Isolation) {
    this.#sql = postgres(isolation.database_url, {
      max: 1,
      connect_timeout: 5,
      idle_timeout: 30,
      onnotice: () => {},
      connection: { application_name: 'bench-ledger', statement_timeout: 30_000 },
    });
  }

  // Settled authorizer events: a transaction_events row each (unique event_id), and the
  // declines of cards Redis did not know, which settlement only marks processed (no card to
  // hang a row on; a decision that failed before reading the card reports none).
  async settled(): Promise<{
    readonly total: number;
    readonly event_rows: number;
    readonly no_card: number;
  }> {
    const [row] = await this.#sql<{ event_rows: string; no_card: string }[]>`
      select (select count(*) from transaction_events)::int8 as event_rows,
        (select count(*) from processed_events where consumer = 'settlement')::int8 as no_card`;
    const event_rows = Number(row?.event_rows ?? 0);
    const no_card = Number(row?.no_card ?? 0);
    return { total: event_rows + no_card, event_rows, no_card };
  }

  async settledBetween(from: Date, to: Date): Promise<number> {
    const [row] = await this.#sql<{ n: string }[]>`
      select (select count(*) from transaction_events where recorded_at >= ${from} and recorded_at < ${to})
        + (select count(*) from processed_events
           where consumer = 'settlement' and processed_at >= ${from} and processed_at < ${to}) as n`;
    return Number(row?.n ?? 0);
  }

  // occurred_at is the authorizer's decision time (the event's occurred_at_ms, from the
  // authorizer's clock); recorded_at is PostgreSQL's now() in the settling transaction (its
  // start, a few statements before the commit). Same machine, same clock.
  async lagOfEventsDecidedBetween(from: Date, to: Date): Promise<LagMs | null> {
    const [row] = await this.#sql<Record<keyof LagMs, string | null>[]>`
      with lag as (
        select extract(epoch from (recorded_at - occurred_at)) * 1000 as ms
        from transaction_events where occurred_at >= ${from} and occurred_at < ${to}
      )
      select count(*)::int8 as events,
        percentile_cont(0.5) within group (order by ms) as p50,
        percentile_cont(0.9) within group (order by ms) as p90,
        percentile_cont(0.99) within group (order by ms) as p99,
        percentile_cont(0.999) within group (order by ms) as p999,
        max(ms) as max, avg(ms) as mean
      from lag`;
    if (row === undefined || Number(row.events) === 0) return null;
    const value = (text: string | null) => round3(Number(text ?? Number.NaN));
    return {
      events: Number(row.events),
      p50: value(row.p50),
      p90: value(row.p90),
      p99: value(row.p99),
      p999: value(row.p999),
      max: value(row.max),
      mean: value(row.mean),
    };
  }

  // Ledger rows by state: what the run left in the books.
  async transactionStates(): Promise<Record<string, number>> {
    const rows = await this.#sql<{ state: string; n: string }[]>`
      select state, count(*)::int8 as n from transactions group by state order by state`;
    return Object.fromEntries(rows.map((row) => [row.state, Number(row.n)]));
  }

  async close(): Promise<void> {
    await this.#sql.end({ timeout: 5 });
  }
}

export interface QueueDepth {
  // Ready in the work queue and its retry tiers (unacknowledged deliveries are not counted).
  readonly waiting: number;
  readonly parked: number;
}

// The settlement queue of the run's namespace, read through @afc/amqp's backlog (passive
// declares, bounded by a timeout) on a client of its own that publishes and consumes nothing.
export class SettlementQueue {
  readonly #client: AmqpClient;

  private constructor(client: AmqpClient) {
    this.#client = client;
  }

  static async open(isolation: Isolation, logger: Logger): Promise<SettlementQueue> {
    const client = new AmqpClient({
      url: localServiceUrls.amqp,
      connection_name: 'bench-queue-reader',
      topology: { ...product_topology, namespace: isolation.amqp_namespace },
      logger,
    });
    await client.start(10_000);
    return new SettlementQueue(client);
  }

  async depth(): Promise<QueueDepth> {
    const backlog = await this.#client.backlog(queue_names.settlement, 5_000);
    return { waiting: backlog.ready + backlog.retrying, parked: backlog.parked };
  }

  async close(): Promise<void> {
    await this.#client.close(5_000);
  }
}
