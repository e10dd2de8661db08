import { PostgresTimeoutError, type Sql, withTimeout } from '@afc/postgres';
import { Counter, Gauge, type Registry } from 'prom-client';

export interface ApiMetrics {
  readonly card_events: Counter<'type' | 'outcome'>;
}

// A scrape must not hang on a stalled database: the outbox gauges keep their last value then.
const outbox_query_timeout_ms = 2_000;
const pending_count_cap = 100_000;

interface OutboxState {
  pending: number;
  oldest_s: number;
  parked: number;
}

async function outboxState(sql: Sql): Promise<OutboxState | undefined> {
  // All read outbox_messages_unpublished_idx; the counts stop at pending_count_cap, so a huge
  // backlog costs a bounded scan (the gauge then reads the cap). Parked commands are not pending:
  // they wait for a person, not for the publisher, and have their own gauge.
  const query = sql<{ pending: number; oldest_s: number | null; parked: number }[]>`
    select (select count(*)::int from (
              select 1 from outbox_messages where published_at is null and parked_at is null
              limit ${pending_count_cap}) p) as pending,
           (select extract(epoch from now() - created_at)::float8 from outbox_messages
            where published_at is null and parked_at is null order by id limit 1) as oldest_s,
           (select count(*)::int from (
              select 1 from outbox_messages where published_at is null and parked_at is not null
              limit ${pending_count_cap}) p) as parked`;
  try {
    const [row] = await withTimeout(query, outbox_query_timeout_ms, 'outbox state');
    return row === undefined
      ? undefined
      : { pending: row.pending, oldest_s: row.oldest_s ?? 0, parked: row.parked };
  } catch (error) {
    if (error instanceof PostgresTimeoutError) {
      // postgres.js types cancel() as void but returns a promise, rejected when the cancel
      // connection fails (the database gone): it must not become an unhandled rejection.
      const cancelled: unknown = query.cancel();
      Promise.resolve(cancelled).catch(() => undefined);
    }
    return undefined;
  }
}

// The api's own metrics, beside the service kit's HTTP histogram and the AMQP client's.
export function createApiMetrics(registry: Registry, sql: Sql): ApiMetrics {
  // One query per scrape serves the three gauges (prom-client collects each gauge separately).
  let last_read: Promise<OutboxState | undefined> | undefined;
  const read = () => {
    last_read ??= outboxState(sql).finally(() => {
      last_read = undefined;
    });
    return last_read;
  };
  const outboxGauge = (name: string, help: string, value: (state: OutboxState) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const state = await read();
        if (state !== undefined) this.set(value(state));
      },
    });
  outboxGauge(
    'afc_api_outbox_pending',
    'Commands in the PostgreSQL outbox not yet confirmed by RabbitMQ, parked ones apart (counted up to 100000)',
    (state) => state.pending,
  );
  outboxGauge(
    'afc_api_outbox_oldest_pending_seconds',
    'Age of the oldest command waiting in the PostgreSQL outbox, parked ones apart (0 when none waits)',
    (state) => state.oldest_s,
  );
  outboxGauge(
    'afc_api_outbox_parked',
    'Commands the outbox publisher gave up on, waiting for `pnpm outbox --requeue` (counted up to 100000)',
    (state) => state.parked,
  );
  return {
    card_events: new Counter({
      name: 'afc_api_card_events_total',
      help: 'Card lifecycle events consumed, by type and outcome (recorded, duplicate, invalid, retry)',
      labelNames: ['type', 'outcome'],
      registers: [registry],
    }),
  };
}
