import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { waitUntil } from '@afc/testkit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import fp from 'fastify-plugin';
import { describe, expect, it } from 'vitest';
import { createService, runService } from '../src/index.ts';
import { captureLogger, deferred } from './helpers.ts';

// Whether a new TCP connection to the port is accepted right now. 'reset' is a connection that
// raced the listener's close (queued in the backlog, then dropped).
function probeConnection(port: number): Promise<'connected' | 'refused' | 'reset'> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(2_000, () => socket.destroy(new Error('connect probe timed out')));
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') resolve('refused');
      else if (error.code === 'ECONNRESET') resolve('reset');
      else reject(error);
    });
  });
}

// Stand-ins for infrastructure and work, recording when each shutdown step happens.
function orderedPlugins(order: string[], release: Promise<void>, entered: () => void) {
  const closes = (name: string, step: string) =>
    fp(
      async (app) => {
        app.addHook('onClose', async () => {
          order.push(step);
        });
      },
      { name },
    );
  const postgres = closes('fake-postgres', 'postgres closed');
  const amqp = closes('fake-amqp', 'amqp closed');
  // Written as a service's app.ts would be: a TypeBox-typed plugin wrapped by fastify-plugin.
  const service_app: FastifyPluginAsyncTypebox = async (app) => {
    app.addHook('preClose', async () => {
      order.push('consumers cancelled');
    });
    app.addHook('onClose', async () => {
      order.push('in-flight messages and confirms finished');
    });
    app.get('/slow', { schema: { response: { 200: Type.Object({ ok: Type.Boolean() }) } } }, async () => {
      entered();
      await release;
      order.push('in-flight request answered');
      return { ok: true };
    });
  };
  const work = fp(service_app, { name: 'fake-work', dependencies: ['fake-postgres', 'fake-amqp'] });
  return { postgres, amqp, work };
}

describe('runService shutdown', () => {
  it('stops intake, finishes in-flight work, then closes clients in reverse registration order', async () => {
    const { logger, lines } = captureLogger('order');
    const order: string[] = [];
    const entered = deferred();
    const release = deferred();
    const plugins = orderedPlugins(order, release.promise, () => entered.resolve());
    const running = await runService({
      logger,
      host: '127.0.0.1',
      port: 0,
      shutdown_timeout_ms: 10_000,
      build: async () => {
        const app = await createService({ name: 'order', logger, body_limit_bytes: 1_024 });
        // Infrastructure first so that it closes last.
        await app.register(plugins.postgres);
        await app.register(plugins.amqp);
        await app.register(plugins.work);
        return app;
      },
    });
    const port = Number(new URL(running.address).port);
    expect(lines()).toContainEqual(expect.objectContaining({ msg: 'listening', address: running.address }));
    const in_flight = fetch(`${running.address}/slow`);
    await entered.promise;

    const closing = running.close();
    await waitUntil(async () => (await probeConnection(port)) === 'refused', {
      timeout_ms: 5_000,
      message: 'the listener to close',
    });
    expect(order).toEqual(['consumers cancelled']);

    release.resolve();
    const response = await in_flight;
    expect(response.status).toBe(200);
    // Otherwise the kept-alive socket would hold close() open until keep_alive_timeout_ms.
    expect(response.headers.get('connection')).toBe('close');
    expect(await response.json()).toEqual({ ok: true });
    await closing;
    expect(order).toEqual([
      'consumers cancelled',
      'in-flight request answered',
      'in-flight messages and confirms finished',
      'amqp closed',
      'postgres closed',
    ]);
    expect(await probeConnection(port)).toBe('refused');
    expect(lines()).toContainEqual(expect.objectContaining({ msg: 'shutdown complete' }));
  });
});

interface Fixture {
  readonly child: ChildProcess;
  readonly lines: () => Record<string, unknown>[];
  readonly exit: Promise<number | null>;
}

const fixture_path = fileURLToPath(new URL('./fixtures/serve.ts', import.meta.url));

function startFixture(shutdown_timeout_ms: number): Fixture {
  const child = spawn(
    process.execPath,
    ['--conditions=@afc/source', fixture_path, String(shutdown_timeout_ms)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const lines = () =>
    output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return { child, lines, exit };
}

async function listening(fixture: Fixture): Promise<string> {
  await waitUntil(() => fixture.lines().some((line) => line.msg === 'listening'), {
    timeout_ms: 15_000,
    message: 'the fixture to listen',
  });
  const line = fixture.lines().find((candidate) => candidate.msg === 'listening');
  return String(line?.address);
}

// Bounds a test whose child would otherwise outlive it.
async function exitCode(fixture: Fixture): Promise<number | null> {
  const timer = setTimeout(() => fixture.child.kill('SIGKILL'), 15_000);
  try {
    return await fixture.exit;
  } finally {
    clearTimeout(timer);
  }
}

function messages(fixture: Fixture): unknown[] {
  return fixture.lines().map((line) => line.msg);
}

describe('runService in a real process', () => {
  it('exits 0 after a graceful close on SIGTERM', async () => {
    const fixture = startFixture(5_000);
    await listening(fixture);
    fixture.child.kill('SIGTERM');
    expect(await exitCode(fixture)).toBe(0);
    expect(fixture.lines()).toContainEqual(
      expect.objectContaining({ msg: 'shutting down', signal: 'SIGTERM' }),
    );
    expect(messages(fixture)).toContain('shutdown complete');
  });

  it('exits 1 and says so when in-flight work outlives the shutdown deadline', async () => {
    const fixture = startFixture(100);
    const address = await listening(fixture);
    const hanging = fetch(`${address}/hang`).catch(() => 'connection dropped at exit');
    await waitUntil(() => messages(fixture).includes('hang entered'), { timeout_ms: 5_000 });
    fixture.child.kill('SIGTERM');
    expect(await exitCode(fixture)).toBe(1);
    expect(fixture.lines()).toContainEqual(
      expect.objectContaining({
        msg: 'shutdown deadline exceeded, exiting',
        level: 'fatal',
        shutdown_timeout_ms: 100,
      }),
    );
    expect(messages(fixture)).not.toContain('shutdown complete');
    expect(await hanging).toBe('connection dropped at exit');
  });

  it('logs an uncaught error, closes and exits 1', async () => {
    const fixture = startFixture(5_000);
    const address = await listening(fixture);
    const response = await fetch(`${address}/crash`);
    expect(response.status).toBe(200);
    expect(await exitCode(fixture)).toBe(1);
    const crash = fixture.lines().find((line) => line.msg === 'uncaught error, shutting down');
    expect(crash).toMatchObject({ level: 'fatal', err: { message: 'fixture crash' } });
    expect(messages(fixture)).toContain('shutdown complete');
  });
});
