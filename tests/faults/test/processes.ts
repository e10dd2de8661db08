import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { waitUntil } from '@afc/testkit';

const repository = fileURLToPath(new URL('../../../', import.meta.url));

// A service as it runs in production: its own process from services/<name>/src/server.ts, its
// configuration from the environment, shut down by a signal.
export class ServiceProcess {
  readonly lines: string[] = [];
  readonly #name: string;
  readonly #env: Record<string, string>;
  #child: ChildProcess | undefined;
  #exit: Promise<number | null> | undefined;

  constructor(name: string, env: Record<string, string>) {
    this.#name = name;
    this.#env = env;
  }

  async start(): Promise<void> {
    const child = spawn(
      process.execPath,
      ['--conditions=@afc/source', `services/${this.#name}/src/server.ts`],
      {
        cwd: repository,
        // Only what the service needs: its configuration, never the test runner's environment.
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/tmp',
          HOST: '127.0.0.1',
          ...this.#env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.#child = child;
    this.#exit = once(child, 'exit').then(([code]) => code as number | null);
    let partial = '';
    const collect = (chunk: Buffer) => {
      const text = partial + chunk.toString('utf8');
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      this.lines.push(...parts);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    let exited = false;
    void this.#exit.then(() => {
      exited = true;
    });
    await waitUntil(() => exited || this.lines.some((line) => line.includes('"msg":"listening"')), {
      timeout_ms: 30_000,
      message: `${this.#name} listening`,
    });
    if (exited) throw new Error(`${this.#name} exited at start: ${this.lines.slice(-5).join('\n')}`);
  }

  // SIGTERM, as an orchestrator stops a pod, and the exit code once it has finished.
  async terminate(): Promise<number | null> {
    this.#child?.kill('SIGTERM');
    return (await this.#exit) ?? null;
  }

  // For cleanup after a failed drill: the process must not outlive the test.
  async kill(): Promise<void> {
    if (this.#child === undefined || this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.kill('SIGKILL');
    await this.#exit;
  }

  logged(needle: string): number {
    return this.lines.filter((line) => line.includes(needle)).length;
  }

  // Lines with `needle` logged after the first line with `marker` (e.g. work finished after the
  // signal arrived).
  loggedAfter(marker: string, needle: string): number {
    const from = this.lines.findIndex((line) => line.includes(marker));
    return from < 0 ? 0 : this.lines.slice(from).filter((line) => line.includes(needle)).length;
  }
}
