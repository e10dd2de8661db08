import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

// A port the kernel had free a moment ago, for a server that must be told its port (a
// redis-server child). Another process can take it before that server binds it: callers start
// again with new ports when the server exits at start (startWithFreshPorts).
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('freePort: no TCP address');
  return address.port;
}

// Thrown by a start that lost its port to another process, so that it is tried again.
export class ServerExitedAtStartError extends Error {
  readonly code = 'AFC_TEST_SERVER_EXITED_AT_START';
}

// Runs `start` (which picks its ports with freePort) up to `attempts` times while it fails
// with ServerExitedAtStartError; any other failure, or the last one, is thrown.
export async function startWithFreshPorts<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await start();
    } catch (error) {
      if (!(error instanceof ServerExitedAtStartError) || attempt >= attempts) throw error;
    }
  }
}

// Linux hands out ports for port-0 listeners and outgoing connections from this range only.
function ephemeralRange(): { low: number; high: number } {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const range = { low: Number(low), high: Number(high) };
    if (Number.isInteger(range.low) && Number.isInteger(range.high)) return range;
  } catch {
    // Not Linux: its documented default below.
  }
  return { low: 32_768, high: 60_999 };
}

const stable_port_floor = 10_000;

function isAddressInUse(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
}

// Listens on a port below the ephemeral range, so that a server can close and listen again on
// the same port (a restart drill) without a port-0 listener or a client socket of another test
// taking it meanwhile. Ports in use are skipped, up to `attempts` tries.
export async function listenOnStablePort<T>(
  listen: (port: number) => Promise<T>,
  attempts = 20,
): Promise<{ port: number; result: T }> {
  const { low } = ephemeralRange();
  assert.ok(low > stable_port_floor + 1_000, 'the ephemeral range leaves room below it');
  for (let attempt = 1; ; attempt += 1) {
    const port = stable_port_floor + Math.floor(Math.random() * (low - stable_port_floor));
    try {
      return { port, result: await listen(port) };
    } catch (error) {
      if (!isAddressInUse(error) || attempt >= attempts) throw error;
    }
  }
}
