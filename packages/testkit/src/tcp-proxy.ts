import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxyOptions {
  readonly target_host?: string;
  readonly target_port: number;
}

// A TCP proxy of the tests' own on 127.0.0.1: a test points a client at it and can cut every
// connection (and refuse new ones) or restore service, to drill failures of one client
// without disturbing the shared local service or other tests.
export class TcpProxy {
  readonly #options: TcpProxyOptions;
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  #cut = false;
  #held = false;
  #reset_on: Buffer | undefined;
  readonly #waiting: (() => void)[] = [];
  #port = 0;

  constructor(options: TcpProxyOptions) {
    this.#options = options;
  }

  get port(): number {
    return this.#port;
  }

  // Chunks waiting for release(): lets a test see that a request reached the hold.
  get held_chunk_count(): number {
    return this.#waiting.length;
  }

  get connection_count(): number {
    return this.#sockets.size / 2;
  }

  async start(): Promise<number> {
    const server = createServer((client) => this.#accept(client));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: this.#port }, () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('TcpProxy: no port');
    this.#port = address.port;
    return this.#port;
  }

  // Destroys every open connection; new ones are accepted and dropped at once until restore().
  cut(): void {
    this.#cut = true;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }

  restore(): void {
    this.#cut = false;
  }

  // Connections stay open but nothing is forwarded in either direction until release(): the
  // service looks alive and answers nothing, like a server stalled by a long command.
  hold(): void {
    this.#held = true;
  }

  release(): void {
    this.#held = false;
    for (const resume of this.#waiting.splice(0)) resume();
  }

  // The next chunk a client sends that contains `text` is not forwarded: that connection is
  // reset (RST) on both sides instead, as when a server dies in the middle of a given request.
  resetOnceClientSends(text: string): void {
    this.#reset_on = Buffer.from(text);
  }

  async stop(): Promise<void> {
    this.cut();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // Chunks pass through unless held; held chunks are kept in order and sent on release.
  #forward(from: Socket, to: Socket, from_client: boolean): void {
    from.on('data', (chunk: Buffer) => {
      const reset_on = this.#reset_on;
      if (from_client && reset_on !== undefined && chunk.includes(reset_on)) {
        this.#reset_on = undefined;
        from.resetAndDestroy();
        to.resetAndDestroy();
        return;
      }
      if (!this.#held) {
        to.write(chunk);
        return;
      }
      from.pause();
      this.#waiting.push(() => {
        to.write(chunk);
        from.resume();
      });
    });
  }

  #accept(client: Socket): void {
    if (this.#cut) {
      client.destroy();
      return;
    }
    const upstream = createConnection({
      host: this.#options.target_host ?? '127.0.0.1',
      port: this.#options.target_port,
    });
    this.#sockets.add(client);
    this.#sockets.add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    this.#forward(client, upstream, true);
    this.#forward(upstream, client, false);
  }
}
