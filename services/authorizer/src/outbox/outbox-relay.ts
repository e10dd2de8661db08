import assert from 'node:assert/strict';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { type AmqpClient, EncodedJson } from '@afc/amqp';
import { outbox_event_prefix } from '@afc/card-state';
import type { Logger } from '@afc/log';
import { coalesceTurnWrites, type RedisClient } from '@afc/redis';
import { Cluster } from 'ioredis';

export interface OutboxRelayOptions {
  readonly redis: RedisClient;
  readonly amqp: AmqpClient;
  readonly logger: Logger;
  // Stream keys of every partition (`{p}:outbox`), prefix-less: the client adds its prefix.
  readonly stream_keys: readonly string[];
  readonly exchange: string;
  readonly group: string;
  // Unique per process: a crashed relay's pending entries are claimed by the others.
  readonly consumer: string;
  readonly batch_size: number;
  // Idle polling grows from min to max while there is nothing to move.
  readonly idle_min_ms: number;
  readonly idle_max_ms: number;
  // A delivered-but-unacknowledged entry older than this belongs to a dead relay: claim it.
  readonly claim_idle_ms: number;
  readonly publish_timeout_ms: number;
  // Backoff after a failed round (broker down): bounded, with jitter.
  readonly failure_backoff_max_ms: number;
  // Unreadable entries a partition's dead stream keeps; past it they stay in the outbox.
  readonly dead_max_entries: number;
}

// What waits in the streams (the outbox metrics): every partition's entries together, the
// fullest partition's (decide.lua declines outbox_full there first), and the unreadable entries
// set aside in the dead streams.
export interface OutboxLengths {
  readonly total: number;
  readonly fullest_partition: number;
  readonly dead: number;
}

interface OutboxEntry {
  readonly key: string;
  readonly id: string;
  readonly event_id: string;
  readonly type: string;
  readonly event: EncodedJson;
}

// XACK and XDEL of one partition's confirmed entries, together: an entry acknowledged and left
// undeleted (the connection lost between two commands) would never be read or deleted again,
// and would hold a place under the outbox's bound (decide.lua outbox_full) for good.
// In slices: Lua's unpack refuses some thousands of values at once.
const acknowledge_lua = `
local n = #ARGV
for first = 2, n, 1000 do
  local last = math.min(first + 999, n)
  redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, first, last))
  redis.call('XDEL', KEYS[1], unpack(ARGV, first, last))
end
return n - 1`;

// An unreadable entry leaves the outbox for the partition's dead stream (same hash slot) in one
// step, or not at all: a move cut between commands would leave it in both or in neither.
// Refused (0) at the dead stream's bound: the entry stays pending in the outbox, where the
// outbox's own bound and the metrics show it, rather than the oldest dead entry being dropped.
const set_aside_lua = `
if redis.call('XLEN', KEYS[2]) >= tonumber(ARGV[3]) then return 0 end
redis.call('XADD', KEYS[2], '*', 'id', ARGV[2], 'fields', ARGV[4])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1`;

const ensure_group_lua = `
local ok, err = pcall(redis.call, 'XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
if not ok and not string.find(tostring(err), 'BUSYGROUP') then return redis.error_reply(tostring(err)) end
return 1`;

// card-state's scripts begin every event with its id and type (@afc/card-state
// outbox_event_prefix, checked by its tests): read from that prefix, the event is published as
// written, neither parsed nor encoded again (a parse and a stringify per event were a few
// percent of the authorizer's CPU). The whole text is parsed when the prefix does not match. A
// corrupt text behind a good prefix is published as it is, and parked by its consumer
// (consumers parse every body).
export function idAndType(json: string): { event_id: string; type: string } | undefined {
  const match = outbox_event_prefix.exec(json);
  if (match?.[1] !== undefined && match[2] !== undefined) return { event_id: match[1], type: match[2] };
  try {
    const event = JSON.parse(json) as { event_id?: unknown; type?: unknown };
    if (typeof event.event_id !== 'string' || typeof event.type !== 'string') return undefined;
    return { event_id: event.event_id, type: event.type };
  } catch {
    return undefined;
  }
}

function parseEntry(key: string, id: string, fields: string[]): OutboxEntry | undefined {
  const index = fields.indexOf('event');
  const json = index >= 0 ? fields[index + 1] : undefined;
  if (json === undefined || json.length === 0) return undefined;
  const found = idAndType(json);
  if (found === undefined) return undefined;
  return { key, id, ...found, event: new EncodedJson(json) };
}

// The partition's hash tag is in the outbox key: the dead stream shares its slot.
export function deadStreamKey(outbox_key: string): string {
  return `${outbox_key}:dead`;
}

type StreamReply = [string, [string, string[]][]][] | null;

// Publishes sent in one turn of the event loop (see #publishInSlices).
const publish_slice = 16;

// Moves decision events from the partitions' Redis streams to RabbitMQ. An entry is acknowledged
// (XACK) and deleted only after the broker confirmed it, so a RabbitMQ outage or a crash loses
// nothing: the entry is read again (by this relay, or claimed by another) and published again
// with the same message id, which consumers deduplicate on.
export class OutboxRelay {
  readonly #options: OutboxRelayOptions;
  #running = false;
  // One loop at a time: a loop started before the last stop() (which may have given up waiting
  // for it) ends at its next turn instead of running beside the new one.
  #generation = 0;
  #loop: Promise<void> | undefined;
  #wake: AbortController = new AbortController();
  #published = 0;
  readonly #poison: { key: string; id: string; fields: string[] }[] = [];
  // Own pending entries exist only after a start or a failed round (a round either acknowledges
  // all it read or fails), and dead relays' entries only matter once claim_idle_ms old: both
  // are looked for then, not on every round (each look is one command per partition).
  #check_pending = true;
  #next_claim_at_ms = 0;

  constructor(options: OutboxRelayOptions) {
    assert.ok(
      options.stream_keys.length > 0 && options.batch_size > 0 && options.dead_max_entries > 0,
      'relay needs streams, a batch size and a bound on its dead streams',
    );
    this.#options = options;
  }

  get published_count(): number {
    return this.#published;
  }

  // Returns at once: the loop creates the consumer groups and retries while Redis or RabbitMQ
  // is away, so a relay started during an outage catches up when they return.
  start(): void {
    assert.ok(!this.#running, 'relay already started');
    this.#running = true;
    // A stop aborted the last one: pausing on it would not pause (a restarted relay would spin).
    this.#wake = new AbortController();
    // A stop may have left entries read and unconfirmed: this relay's own, read first.
    this.#check_pending = true;
    this.#generation += 1;
    this.#loop = this.#run(this.#generation);
  }

  // Stops after the round in flight: its confirmed entries are acknowledged, the rest stay
  // pending and are moved after the next start (by any relay).
  async stop(timeout_ms: number): Promise<void> {
    this.#running = false;
    this.#wake.abort();
    const deadline = sleep(timeout_ms, 'timeout' as const, { ref: false });
    const outcome = await Promise.race([this.#loop?.then(() => 'stopped' as const), deadline]);
    if (outcome === 'timeout') this.#options.logger.warn({ timeout_ms }, 'outbox relay stopped mid-round');
  }

  // Entries not yet moved, over every partition.
  async backlog(): Promise<number> {
    return (await this.lengths()).total;
  }

  // One XLEN per stream, all in one write (per node of a Cluster).
  async lengths(): Promise<OutboxLengths> {
    const { redis, stream_keys } = this.#options;
    coalesceTurnWrites(redis);
    const [outboxes, dead] = await Promise.all([
      Promise.all(stream_keys.map((key) => redis.xlen(key))),
      Promise.all(stream_keys.map((key) => redis.xlen(deadStreamKey(key)))),
    ]);
    return {
      total: outboxes.reduce((sum, length) => sum + length, 0),
      fullest_partition: Math.max(0, ...outboxes),
      dead: dead.reduce((sum, length) => sum + length, 0),
    };
  }

  async #ensureGroups(): Promise<void> {
    const { redis, group, stream_keys } = this.#options;
    // Through EVAL, not XGROUP: ioredis applies its key prefix to a script's KEYS but not to
    // XGROUP's key. From the start of the stream ('0'): entries written before the group count.
    await Promise.all(stream_keys.map((key) => redis.eval(ensure_group_lua, 1, key, group)));
  }

  async #run(generation: number): Promise<void> {
    const { idle_min_ms, idle_max_ms, failure_backoff_max_ms, logger } = this.#options;
    let idle_ms = idle_min_ms;
    let failures = 0;
    let groups_ready = false;
    while (this.#running && generation === this.#generation) {
      try {
        if (!groups_ready) {
          await this.#ensureGroups();
          groups_ready = true;
        }
        const moved = await this.#round();
        failures = 0;
        idle_ms = moved > 0 ? idle_min_ms : Math.min(idle_max_ms, idle_ms * 2);
        // A round short of a batch: no backlog, so wait idle_min_ms and move more per round.
        // Back-to-back rounds of a few entries cost reads and acknowledgements per event.
        if (moved < this.#options.batch_size) await this.#pause(idle_ms);
      } catch (error) {
        // Whatever was read and not acknowledged is pending again: read it first next round.
        this.#check_pending = true;
        // The streams were lost and rebuilt (Redis restore): the groups must be made again.
        if (error instanceof Error && error.message.includes('NOGROUP')) groups_ready = false;
        failures += 1;
        const ceiling = Math.min(failure_backoff_max_ms, idle_min_ms * 2 ** Math.min(failures, 16));
        logger.warn({ err: error, failures }, 'outbox relay round failed; retrying');
        await this.#pause(ceiling / 2 + Math.random() * (ceiling / 2));
      }
    }
  }

  async #pause(ms: number): Promise<void> {
    if (!this.#running) return;
    await sleep(ms, undefined, { signal: this.#wake.signal }).catch(() => undefined);
  }

  // One round: this relay's own pending entries first (published before, unconfirmed when the
  // broker dropped), then entries of dead relays (every claim_idle_ms / 4 at most), then new ones.
  async #round(): Promise<number> {
    const pending = this.#check_pending ? await this.#read('0') : [];
    this.#check_pending = pending.length > 0;
    const claimed = pending.length > 0 ? [] : await this.#claimWhenDue();
    const fresh = pending.length + claimed.length > 0 ? [] : await this.#read('>');
    const entries = [...pending, ...claimed, ...fresh];
    await this.#setPoisonAside();
    if (entries.length === 0) return 0;
    const results = await Promise.allSettled(await this.#publishInSlices(entries));
    const confirmed = entries.filter((_entry, index) => results[index]?.status === 'fulfilled');
    await this.#acknowledge(confirmed);
    const failed = results.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    return confirmed.length;
  }

  async #read(from: '0' | '>'): Promise<OutboxEntry[]> {
    const { redis, group, consumer, batch_size, stream_keys } = this.#options;
    if (!(redis instanceof Cluster)) return this.#readAllAtOnce(from);
    // A Cluster refuses keys of several slots in one command: one read per partition, all in
    // one write per node.
    coalesceTurnWrites(redis);
    const replies = await Promise.all(
      stream_keys.map(
        (key) =>
          redis.xreadgroup(
            'GROUP',
            group,
            consumer,
            'COUNT',
            batch_size,
            'STREAMS',
            key,
            from,
          ) as Promise<StreamReply>,
      ),
    );
    return replies.flatMap((reply, index) => this.#entriesOf(stream_keys[index] ?? '', reply));
  }

  // One Redis: every partition in one XREADGROUP (COUNT applies per stream), not one command per
  // partition per round. Replies name the streams with the client's key prefix.
  async #readAllAtOnce(from: '0' | '>'): Promise<OutboxEntry[]> {
    const { redis, group, consumer, batch_size, stream_keys } = this.#options;
    const prefix = typeof redis.options.keyPrefix === 'string' ? redis.options.keyPrefix : '';
    const reply = (await redis.xreadgroup(
      'GROUP',
      group,
      consumer,
      'COUNT',
      batch_size,
      'STREAMS',
      ...stream_keys,
      ...stream_keys.map(() => from),
    )) as StreamReply;
    return (reply ?? []).flatMap(([key, messages]) => {
      const unprefixed = key.startsWith(prefix) ? key.slice(prefix.length) : key;
      return this.#entriesOf(unprefixed, [[unprefixed, messages]]);
    });
  }

  async #claimWhenDue(): Promise<OutboxEntry[]> {
    if (Date.now() < this.#next_claim_at_ms) return [];
    const claimed = await this.#claim();
    // More may wait behind a full batch: look again next round.
    this.#next_claim_at_ms = claimed.length > 0 ? 0 : Date.now() + this.#options.claim_idle_ms / 4;
    return claimed;
  }

  async #claim(): Promise<OutboxEntry[]> {
    const { redis, group, consumer, batch_size, claim_idle_ms, stream_keys } = this.#options;
    coalesceTurnWrites(redis);
    const replies = await Promise.all(
      stream_keys.map(
        (key) =>
          redis.xautoclaim(key, group, consumer, claim_idle_ms, '0', 'COUNT', batch_size) as Promise<
            [string, [string, string[]][], string[]?]
          >,
      ),
    );
    return replies.flatMap((reply, index) =>
      this.#entriesOf(stream_keys[index] ?? '', [[stream_keys[index] ?? '', reply[1]]]),
    );
  }

  #entriesOf(key: string, reply: StreamReply): OutboxEntry[] {
    const entries: OutboxEntry[] = [];
    for (const [, messages] of reply ?? []) {
      for (const [id, fields] of messages) {
        // A deleted entry still pending shows as null fields: nothing left to publish.
        if (fields === null || fields === undefined) continue;
        const entry = parseEntry(key, id, fields);
        if (entry === undefined) this.#poison.push({ key, id, fields });
        else entries.push(entry);
      }
    }
    return entries;
  }

  // Our scripts write every entry, so an unreadable one is a bug: it is moved to the
  // partition's dead stream and logged, instead of blocking every partition. One the dead
  // stream has no room for stays pending in this relay's name: read again after a failed round
  // or a restart, or claimed by another relay, and moved once there is room.
  async #setPoisonAside(): Promise<void> {
    const { redis, group, logger, dead_max_entries } = this.#options;
    for (const { key, id, fields } of this.#poison.splice(0)) {
      const dead_key = deadStreamKey(key);
      const moved = await redis.eval(
        set_aside_lua,
        2,
        key,
        dead_key,
        group,
        id,
        dead_max_entries,
        JSON.stringify(fields.map(String)),
      );
      if (moved === 1) logger.error({ stream: key, id }, 'unreadable outbox entry moved to the dead stream');
      else
        logger.error(
          { stream: key, id, dead_stream: dead_key, dead_max_entries },
          'unreadable outbox entry left in the outbox: its dead stream is full',
        );
    }
  }

  // Publishes are sent slice by slice, letting the event loop turn between slices: a round of
  // hundreds of events (each one socket write) would otherwise hold up the decisions queued
  // behind it. Confirms are still awaited together.
  async #publishInSlices(entries: readonly OutboxEntry[]): Promise<Promise<void>[]> {
    const sent: Promise<void>[] = [];
    for (let start = 0; start < entries.length; start += publish_slice) {
      if (start > 0) await nextTurn();
      for (const entry of entries.slice(start, start + publish_slice)) {
        const published = this.#publish(entry);
        // Handled now, settled later by the caller's allSettled: a rejection before the next
        // slice must not count as unhandled (which would end the process).
        published.catch(() => undefined);
        sent.push(published);
      }
    }
    return sent;
  }

  async #publish(entry: OutboxEntry): Promise<void> {
    await this.#options.amqp.publish(this.#options.exchange, entry.type, entry.event, {
      message_id: entry.event_id,
      type: entry.type,
      confirm_timeout_ms: this.#options.publish_timeout_ms,
    });
  }

  // One script (XACK and XDEL, atomic) per partition for the whole round, not two commands per
  // entry, and all of them in one write.
  async #acknowledge(entries: readonly OutboxEntry[]): Promise<void> {
    const { redis, group } = this.#options;
    const ids_by_key = new Map<string, string[]>();
    for (const entry of entries) {
      const ids = ids_by_key.get(entry.key);
      if (ids === undefined) ids_by_key.set(entry.key, [entry.id]);
      else ids.push(entry.id);
    }
    coalesceTurnWrites(redis);
    await Promise.all(
      [...ids_by_key].map(([key, ids]) => redis.eval(acknowledge_lua, 1, key, group, ...ids)),
    );
    this.#published += entries.length;
  }
}
