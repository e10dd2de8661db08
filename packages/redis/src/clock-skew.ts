import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { masterNodes, type RedisClient } from './create-redis.ts';

export interface ClockSkew {
  // The Redis server's clock minus ours: positive when Redis is ahead.
  readonly skew_ms: number;
  // Half the round trip: the server read its clock somewhere inside it, so the true skew lies
  // within skew_ms ± uncertainty_ms.
  readonly uncertainty_ms: number;
}

export interface NodeClockSkew extends ClockSkew {
  // host:port of the node that answered TIME.
  readonly node: string;
}

// One TIME round trip: sent_at_ms is our wall clock when it was sent, round_trip_ms its
// length by a monotonic clock (a wall clock stepped meanwhile, the very thing watched here,
// cannot make it negative), reply is TIME's [unix seconds, microseconds]. The middle of the
// round trip is the best guess of when the server read its clock.
export function clockSkewOf(sent_at_ms: number, reply: readonly string[], round_trip_ms: number): ClockSkew {
  assert.ok(round_trip_ms >= 0, 'a round trip takes no negative time');
  const [seconds, microseconds] = reply;
  assert.ok(seconds !== undefined && /^\d+$/.test(seconds), 'TIME replies whole seconds');
  assert.ok(microseconds !== undefined && /^\d{1,6}$/.test(microseconds), 'TIME replies microseconds');
  const server_ms = Number(seconds) * 1_000 + Number(microseconds) / 1_000;
  return { skew_ms: server_ms - (sent_at_ms + round_trip_ms / 2), uncertainty_ms: round_trip_ms / 2 };
}

async function readNode(node: Redis, now: () => number): Promise<NodeClockSkew> {
  const sent_at_ms = now();
  const started = performance.now();
  const reply = await node.time();
  const round_trip_ms = performance.now() - started;
  return {
    node: `${node.options.host ?? '?'}:${node.options.port ?? '?'}`,
    ...clockSkewOf(sent_at_ms, reply.map(String), round_trip_ms),
  };
}

// The skew of every master's clock (one node unless a Cluster), each from its own TIME. A
// script that reads TIME (the decision deadline in card-state's decide.lua) is only as right
// as this skew is small. Waits are bounded by the client's command timeout; a node that fails
// to answer rejects the whole reading.
export async function readClockSkew(
  client: RedisClient,
  now: () => number = Date.now,
): Promise<NodeClockSkew[]> {
  return Promise.all(masterNodes(client).map((node) => readNode(node, now)));
}
