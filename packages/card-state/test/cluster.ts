import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, ServerExitedAtStartError, startWithFreshPorts, waitUntil } from '@afc/testkit';
import { Redis } from 'ioredis';

// A throwaway Redis Cluster of three masters on free ports of 127.0.0.1 (the shared Redis has
// cluster support off): redis-server children, no persistence, joined by redis-cli --cluster
// create, killed by pid after.
export interface ThreeMasterCluster {
  readonly urls: readonly string[];
  readonly admins: readonly Redis[];
  stop(): Promise<void>;
}

const run = promisify(execFile);

interface Node {
  readonly port: number;
  readonly child: ChildProcess;
  readonly admin: Redis;
  exited: boolean;
}

function startNode(port: number, bus_port: number, dir: string): Node {
  const child = spawn(
    'redis-server',
    [
      ...['--bind', '127.0.0.1', '--port', String(port), '--cluster-port', String(bus_port)],
      ...['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--dir', dir],
      ...['--save', '', '--appendonly', 'no', '--daemonize', 'no', '--maxmemory', '64mb'],
    ],
    { stdio: 'ignore' },
  );
  const admin = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
  admin.on('error', () => {});
  const node: Node = { port, child, admin, exited: false };
  child.once('exit', () => {
    node.exited = true;
  });
  return node;
}

async function stopNodes(nodes: readonly Node[], dir: string): Promise<void> {
  for (const node of nodes) {
    node.admin.disconnect();
    if (!node.exited && node.child.pid !== undefined) process.kill(node.child.pid, 'SIGTERM');
  }
  await waitUntil(() => nodes.every((node) => node.exited), {
    timeout_ms: 10_000,
    message: 'cluster nodes exit',
  });
  await rm(dir, { recursive: true, force: true });
}

export function startThreeMasterCluster(): Promise<ThreeMasterCluster> {
  return startWithFreshPorts(startOnce);
}

async function startOnce(): Promise<ThreeMasterCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'afc-card-state-cluster-'));
  const nodes: Node[] = [];
  for (let i = 0; i < 3; i += 1) nodes.push(startNode(await freePort(), await freePort(), dir));
  const stop = () => stopNodes(nodes, dir);
  try {
    await waitUntil(
      () => {
        if (nodes.some((node) => node.exited))
          throw new ServerExitedAtStartError('redis-server exited at start (its port taken?)');
        return nodes.every((node) => node.admin.status === 'ready');
      },
      { timeout_ms: 10_000, message: 'cluster nodes accept connections' },
    );
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
    await run(
      'redis-cli',
      ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'],
      {
        timeout: 20_000,
      },
    );
    await waitUntil(
      async () => {
        const infos = await Promise.all(nodes.map((node) => node.admin.call('CLUSTER', 'INFO')));
        return infos.every((info) => String(info).includes('cluster_state:ok'));
      },
      { timeout_ms: 20_000, message: 'cluster_state:ok on every node' },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    urls: nodes.map((node) => `redis://127.0.0.1:${node.port}`),
    admins: nodes.map((node) => node.admin),
    stop,
  };
}
