import { setImmediate } from 'node:timers';
import type { Redis } from 'ioredis';
import { masterNodes, type RedisClient } from './create-redis.ts';

const corked = new WeakSet<RedisClient>();

function streamsOf(client: RedisClient): NonNullable<Redis['stream']>[] {
  // A node not connected yet has no stream: its commands fail or queue as usual.
  return masterNodes(client).flatMap((node) => (node.stream === undefined ? [] : [node.stream]));
}

// The commands issued from here to the end of this turn of the event loop leave in one socket
// write (per node), at setImmediate: what ioredis' auto-pipelining saves in syscalls, without
// its one batch in flight per connection. A batch is sent while the replies to earlier ones
// are still on their way, so Redis and the service work at once. For callers that issue many
// concurrent commands (the JIT hot path); the first command of a quiet turn waits at most
// until the end of the turn's I/O callbacks. ioredis starts a command's timeout when it is
// issued, so that wait counts against commandTimeout (as it did with auto-pipelining).
export function coalesceTurnWrites(client: RedisClient): void {
  if (corked.has(client)) return;
  const streams = streamsOf(client);
  if (streams.length === 0) return;
  corked.add(client);
  for (const stream of streams) stream.cork();
  setImmediate(() => uncorkAll(client, streams));
}

// Every stream is uncorked even if one throws (none is known to): a stream left corked would
// hold its node's commands until a reconnect. The first error is then thrown, as the bug it is.
function uncorkAll(client: RedisClient, streams: readonly NonNullable<Redis['stream']>[]): void {
  corked.delete(client);
  let failure: unknown;
  for (const stream of streams) {
    // A stream that closed meanwhile ignores this; a reconnect makes a new, uncorked one.
    try {
      stream.uncork();
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure !== undefined) throw failure;
}
