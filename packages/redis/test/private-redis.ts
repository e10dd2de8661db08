import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, ServerExitedAtStartError, startWithFreshPorts, waitUntil } from '@afc/testkit';
import { Redis } from 'ioredis';

// A throwaway redis-server of a test's own, on free ports, no persistence, killed by its pid
// after: for what must not touch the shared Redis (SCRIPT FLUSH, MONITOR) and for real cluster
// behaviour (the shared Redis has cluster support disabled: CLUSTER KEYSLOT fails there), as a
// one-node Redis Cluster owning all 16384 slots.
export interface PrivateRedis {
  readonly url: string;
  readonly admin: Redis;
  stop(): Promise<void>;
}

export function startPrivateRedis(options: { readonly cluster: boolean }): Promise<PrivateRedis> {
  return startWithFreshPorts(() => startOnce(options));
}

async function startOnce(options: { readonly cluster: boolean }): Promise<PrivateRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'afc-redis-private-'));
  const port = await freePort();
  const cluster_arguments = options.cluster
    ? [
        ...['--cluster-port', String(await freePort())],
        // A lone node does not know its own address: without this CLUSTER SLOTS names no host.
        ...['--cluster-announce-ip', '127.0.0.1'],
        ...['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf')],
      ]
    : [];
  const child: ChildProcess = spawn(
    'redis-server',
    [
      ...['--bind', '127.0.0.1', '--port', String(port), '--dir', dir],
      ...cluster_arguments,
      ...['--save', '', '--appendonly', 'no', '--maxmemory', '64mb'],
    ],
    { stdio: 'ignore' },
  );
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  // Retries until the server listens; the waitUntil below bounds it.
  const admin = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
  admin.on('error', () => {});
  const stop = async () => {
    admin.disconnect();
    if (!exited && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    await waitUntil(() => exited, { timeout_ms: 10_000, message: 'private redis-server exit' });
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil(
      () => {
        if (exited) throw new ServerExitedAtStartError('redis-server exited at start (its port taken?)');
        return admin.status === 'ready';
      },
      { timeout_ms: 10_000, message: 'private redis-server accepts connections' },
    );
    if (options.cluster) {
      await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
      await waitUntil(async () => String(await admin.call('CLUSTER', 'INFO')).includes('cluster_state:ok'), {
        timeout_ms: 10_000,
        message: 'cluster_state:ok',
      });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `redis://127.0.0.1:${port}`, admin, stop };
}
