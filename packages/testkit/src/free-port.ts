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
