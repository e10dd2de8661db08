import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import type { LoadInit, PhaseResult, PhaseSpec, WorkerReply } from './load-protocol.ts';

const worker_path = new URL('./load-worker.ts', import.meta.url);

function nextReply(child: ChildProcess, timeout_ms: number): Promise<WorkerReply> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`load worker silent for ${timeout_ms} ms`)), timeout_ms);
    const on_message = (message: WorkerReply) => finish(undefined, message);
    const on_exit = (code: number | null) => finish(new Error(`load worker exited (${code})`));
    function finish(error: Error | undefined, message?: WorkerReply) {
      clearTimeout(timer);
      child.off('message', on_message);
      child.off('exit', on_exit);
      if (error !== undefined) reject(error);
      else if (message !== undefined) resolve(message);
    }
    child.on('message', on_message);
    child.once('exit', on_exit);
  });
}

// The load generator process: one for the whole run, phases one after another.
export class LoadClient {
  readonly #child: ChildProcess;

  private constructor(child: ChildProcess) {
    this.#child = child;
  }

  static async start(init: Omit<LoadInit, 'type'>): Promise<LoadClient> {
    const child = fork(worker_path, [], {
      execArgv: ['--conditions=@afc/source'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    const client = new LoadClient(child);
    child.send({ type: 'init', ...init } satisfies LoadInit);
    const answer = await nextReply(child, 15_000);
    if (answer.type !== 'ready') throw new Error(`load worker did not start: ${JSON.stringify(answer)}`);
    return client;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  async run(phase: PhaseSpec): Promise<PhaseResult> {
    this.#child.send({ type: 'run', phase });
    // The phase, the lanes' staggered start, the last timeouts and a margin.
    const answer = await nextReply(this.#child, (phase.duration_s + phase.timeout_s + 1) * 1_000 + 30_000);
    if (answer.type === 'result') return answer.result;
    throw new Error(
      `load phase ${phase.name} failed: ${answer.type === 'failed' ? answer.message : answer.type}`,
    );
  }

  async stop(timeout_ms: number): Promise<void> {
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    if (child.connected) child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout_ms);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
