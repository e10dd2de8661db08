import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { OutboxLengths } from './outbox/outbox-relay.ts';

// The hot path's own metrics, beside the service kit's HTTP histogram.
export interface AuthorizerMetrics {
  readonly decision_seconds: Histogram<'outcome' | 'kind'>;
  readonly stage_seconds: Histogram<'stage'>;
  readonly state_lookups: Counter<'result'>;
  readonly declines: Counter<'decline_reason' | 'memo'>;
  readonly outbox_backlog: Gauge;
  readonly outbox_fullest_partition: Gauge;
  readonly outbox_max_events_per_partition: Gauge;
  readonly outbox_dead_entries: Gauge;
  readonly timeout_releases: Counter<'result'>;
  readonly background_applies: Counter<'result'>;
  readonly redis_clock_skew: Gauge<'node'>;
}

// A few milliseconds is normal; the deadline (default 250 ms) and Marqeta's 3 s bound the top.
const buckets_s = [
  0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3,
];

export interface OutboxGauges {
  readonly lengths: () => Promise<OutboxLengths>;
  readonly max_events_per_partition: number;
}

// The three outbox gauges are collected by one scrape at the same moment: they share one read
// of the streams (one XLEN per stream) instead of each making its own.
function sharedRead(read: () => Promise<OutboxLengths>): () => Promise<OutboxLengths | undefined> {
  let in_flight: Promise<OutboxLengths | undefined> | undefined;
  return () => {
    if (in_flight !== undefined) return in_flight;
    // Unknown while Redis is down: the gauges keep their last value rather than fail the scrape.
    const reading = read().catch(() => undefined);
    in_flight = reading.finally(() => {
      in_flight = undefined;
    });
    return in_flight;
  };
}

// A gauge set at each scrape from the shared read of the streams (its last value kept while
// Redis is down).
function outboxGauge(
  registry: Registry,
  lengths: () => Promise<OutboxLengths | undefined>,
  field: keyof OutboxLengths,
  names: { readonly name: string; readonly help: string },
): Gauge {
  return new Gauge({
    ...names,
    registers: [registry],
    async collect() {
      const value = await lengths();
      if (value !== undefined) this.set(value[field]);
    },
  });
}

export function createAuthorizerMetrics(registry: Registry, outbox: OutboxGauges): AuthorizerMetrics {
  const lengths = sharedRead(outbox.lengths);
  const max_events = new Gauge({
    name: 'afc_outbox_max_events_per_partition',
    help: 'The outbox bound (OUTBOX_MAX_EVENTS_PER_PARTITION): at it, a partition declines decisions outbox_full',
    registers: [registry],
  });
  max_events.set(outbox.max_events_per_partition);
  return {
    decision_seconds: new Histogram({
      name: 'afc_jit_decision_seconds',
      help: 'Time from request to answer of a JIT funding request, by outcome and kind',
      labelNames: ['outcome', 'kind'],
      buckets: buckets_s,
      registers: [registry],
    }),
    stage_seconds: new Histogram({
      name: 'afc_jit_stage_seconds',
      help: 'Time per stage of a decision: script (Redis: state lookup, rules and writes in one call), state_load (data of record, on a miss), response (answer serialised and handed to the socket)',
      labelNames: ['stage'],
      buckets: buckets_s,
      registers: [registry],
    }),
    state_lookups: new Counter({
      name: 'afc_jit_state_lookups_total',
      help: 'Decisions whose card state was in Redis (hit) or had to be loaded (miss)',
      labelNames: ['result'],
      registers: [registry],
    }),
    declines: new Counter({
      name: 'afc_jit_declines_total',
      help: 'Declines by decline_reason and internal memo',
      labelNames: ['decline_reason', 'memo'],
      registers: [registry],
    }),
    outbox_backlog: outboxGauge(registry, lengths, 'total', {
      name: 'afc_outbox_backlog',
      help: 'Decision events in the Redis outbox streams not yet confirmed by RabbitMQ',
    }),
    outbox_fullest_partition: outboxGauge(registry, lengths, 'fullest_partition', {
      name: 'afc_outbox_fullest_partition_events',
      help: 'Events in the fullest partition outbox: compare with afc_outbox_max_events_per_partition',
    }),
    outbox_max_events_per_partition: max_events,
    outbox_dead_entries: outboxGauge(registry, lengths, 'dead', {
      name: 'afc_outbox_dead_entries',
      help: 'Unreadable outbox entries set aside in the dead streams: events that did not reach the books (a bug)',
    }),
    timeout_releases: new Counter({
      name: 'afc_jit_timeout_releases_total',
      help: 'Releases after an answer past the deadline, by outcome (approval_undone, declined_before_decision, superseded: another request was answered, ..., retried, abandoned)',
      labelNames: ['result'],
      registers: [registry],
    }),
    background_applies: new Counter({
      name: 'afc_jit_background_applies_total',
      help: 'Informative messages applied in the background after Redis refused them in time, by outcome',
      labelNames: ['result'],
      registers: [registry],
    }),
    redis_clock_skew: new Gauge({
      name: 'afc_redis_clock_skew_seconds',
      help: 'Redis server clock minus ours at the last check, per master (the decision script reads the deadline off it)',
      labelNames: ['node'],
      registers: [registry],
    }),
  };
}
