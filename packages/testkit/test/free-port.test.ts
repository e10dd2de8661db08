import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, listenOnStablePort, ServerExitedAtStartError, startWithFreshPorts } from '../src/index.ts';

describe('startWithFreshPorts', () => {
  it('starts again after a lost port, up to the attempts, and throws anything else at once', async () => {
    let calls = 0;
    const lost_once = async () => {
      calls += 1;
      if (calls === 1) throw new ServerExitedAtStartError('taken');
      return await freePort();
    };
    expect(await startWithFreshPorts(lost_once)).toBeGreaterThan(0);
    expect(calls).toBe(2);

    calls = 0;
    const always_lost = async () => {
      calls += 1;
      throw new ServerExitedAtStartError('taken');
    };
    await expect(startWithFreshPorts(always_lost, 3)).rejects.toBeInstanceOf(ServerExitedAtStartError);
    expect(calls).toBe(3);

    calls = 0;
    const broken = async () => {
      calls += 1;
      throw new Error('bad configuration');
    };
    await expect(startWithFreshPorts(broken)).rejects.toThrow('bad configuration');
    expect(calls).toBe(1);
  });
});

function listenOn(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port }, () => resolve(port));
  });
}

describe('listenOnStablePort', () => {
  it('listens below the ephemeral range, skips a port in use, and throws anything else at once', async () => {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    const taken = createServer();
    const server = createServer();
    try {
      const { port: taken_port } = await listenOnStablePort((port) => listenOn(taken, port));
      expect(taken_port).toBeGreaterThanOrEqual(10_000);
      expect(taken_port).toBeLessThan(low);
      // The first try gets the taken port: refused EADDRINUSE, another port is tried.
      const tried: number[] = [];
      const { port } = await listenOnStablePort((candidate) => {
        tried.push(candidate);
        return listenOn(server, tried.length === 1 ? taken_port : candidate);
      });
      expect(tried.length).toBe(2);
      expect(port).not.toBe(taken_port);
      expect(port).toBeLessThan(low);
      let calls = 0;
      const broken = async () => {
        calls += 1;
        throw new Error('bad configuration');
      };
      await expect(listenOnStablePort(broken)).rejects.toThrow('bad configuration');
      expect(calls).toBe(1);
    } finally {
      taken.close();
      server.close();
    }
  });
});
