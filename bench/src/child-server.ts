import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ServerLogSummary {
  readonly lines: number;
  readonly by_level: Readonly<Record<string, number>>;
  // A few distinct messages, for the report (the server logs at warn and above).
  readonly samples: readonly string[];
}

export interface ChildServerOptions {
  readonly name: string;
  readonly entry: string;
  readonly node_options: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly port: number;
  readonly ready_path: string;
  readonly ready_timeout_ms: number;
}

const max_samples = 8;

// A server under test, in its own Node process on 127.0.0.1. Its JSON log lines are counted,
// not shown: the benchmark prints one line.
export class ChildServer {
  readonly url: string;
  readonly #child: ChildProcess;
  readonly #by_level: Record<string, number> = {};
  readonly #samples = new Set<string>();
  #lines = 0;
  #partial = '';

  private constructor(child: ChildProcess, port: number) {
    this.#child = child;
    this.url = `http://127.0.0.1:${port}`;
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => this.#take(chunk));
  }

  static async start(options: ChildServerOptions): Promise<ChildServer> {
    const child = spawn(process.execPath, [...options.node_options, options.entry], {
      env: { ...process.env, ...options.env, PORT: String(options.port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const server = new ChildServer(child, options.port);
    await server.#waitReady(options.ready_path, options.ready_timeout_ms, options.name);
    return server;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  logSummary(): ServerLogSummary {
    return { lines: this.#lines, by_level: { ...this.#by_level }, samples: [...this.#samples] };
  }

  async #waitReady(path: string, timeout_ms: number, name: string): Promise<void> {
    const deadline = Date.now() + timeout_ms;
    while (Date.now() < deadline) {
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
        throw new Error(
          `${name} exited during start (${this.#child.exitCode}): ${[...this.#samples].join(' | ')}`,
        );
      }
      const ok = await fetch(`${this.url}${path}`, { signal: AbortSignal.timeout(1_000) }).then(
        (response) => response.ok,
        () => false,
      );
      if (ok) return;
      await sleep(100);
    }
    await this.stop(5_000);
    throw new Error(`${name} not ready within ${timeout_ms} ms`);
  }

  #take(chunk: string): void {
    const text = this.#partial + chunk;
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      this.#lines += 1;
      let level = 'unparsed';
      let message = line.slice(0, 200);
      try {
        const parsed = JSON.parse(line) as {
          level?: unknown;
          msg?: unknown;
          reason?: unknown;
          err?: { code?: unknown; message?: unknown };
        };
        level = String(parsed.level ?? 'unknown');
        // The error's code, or a reason, tells failures apart in the report.
        const cause = parsed.err?.code ?? parsed.err?.message ?? parsed.reason;
        message = `${level}: ${String(parsed.msg ?? '')}${cause === undefined ? '' : ` (${String(cause).slice(0, 160)})`}`;
      } catch {}
      this.#by_level[level] = (this.#by_level[level] ?? 0) + 1;
      if (this.#samples.size < max_samples) this.#samples.add(message);
    }
  }

  // SIGTERM (the service's graceful shutdown), SIGKILL past the bound.
  async stop(timeout_ms: number): Promise<number | null> {
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout_ms);
    try {
      const [code] = await exited;
      return code;
    } finally {
      clearTimeout(timer);
    }
  }
}
