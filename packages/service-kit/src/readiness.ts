import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { ReadinessCheckTimeoutError } from './errors.ts';

export type ReadinessCheck = (signal: AbortSignal) => Promise<void>;

export interface ReadinessCheckOptions {
  // A failed critical dependency makes the instance unready (503); a failed non-critical one
  // only degrades it (still 200, still receiving traffic).
  readonly critical: boolean;
}

export type DependencyStatus = 'healthy' | 'unhealthy';
export type ReadinessStatus = 'healthy' | 'degraded' | 'unhealthy';

export interface DependencyReport {
  status: DependencyStatus;
  latency_ms: number;
  error?: string;
}

export interface ReadinessReport {
  status: ReadinessStatus;
  timestamp: string;
  services: Record<string, DependencyReport>;
}

interface RegisteredCheck {
  readonly check: ReadinessCheck;
  readonly critical: boolean;
}

// What a probe caller (possibly outside our walls) may learn of a failure: a code or class
// name, never a message, which can carry hosts, users or connection strings.
function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return (typeof code === 'string' ? code : error.name).slice(0, 64);
  }
  return 'failed';
}

export class Readiness {
  readonly #checks = new Map<string, RegisteredCheck>();
  readonly #check_timeout_ms: number;
  #running: Promise<ReadinessReport> | undefined;

  constructor(check_timeout_ms: number) {
    assert.ok(Number.isInteger(check_timeout_ms) && check_timeout_ms > 0, 'check_timeout_ms must be > 0');
    this.#check_timeout_ms = check_timeout_ms;
  }

  register(name: string, check: ReadinessCheck, options: ReadinessCheckOptions): void {
    assert.ok(name.length > 0, 'a readiness check needs a name');
    assert.ok(!this.#checks.has(name), `readiness check ${name} is registered twice`);
    this.#checks.set(name, { check, critical: options.critical });
  }

  // Concurrent probes share one run, so a burst of /ready requests cannot turn into a burst of
  // queries against the dependencies.
  run(): Promise<ReadinessReport> {
    if (this.#running === undefined) {
      this.#running = this.#runAll().finally(() => {
        this.#running = undefined;
      });
    }
    return this.#running;
  }

  async #runAll(): Promise<ReadinessReport> {
    const entries = [...this.#checks.entries()];
    const results = await Promise.all(entries.map(([name, registered]) => this.#runOne(name, registered)));
    const services: Record<string, DependencyReport> = {};
    let status: ReadinessStatus = 'healthy';
    for (const [index, [name, registered]] of entries.entries()) {
      const result = results[index];
      assert.ok(result !== undefined);
      services[name] = result;
      if (result.status === 'healthy') continue;
      if (registered.critical) status = 'unhealthy';
      else if (status === 'healthy') status = 'degraded';
    }
    return { status, timestamp: new Date().toISOString(), services };
  }

  async #runOne(name: string, registered: RegisteredCheck): Promise<DependencyReport> {
    const controller = new AbortController();
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    // A check that ignores its signal may never settle; the race still answers on time, and
    // the abort tells a well-behaved check to release what it holds.
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const error = new ReadinessCheckTimeoutError(name, this.#check_timeout_ms);
        controller.abort(error);
        reject(error);
      }, this.#check_timeout_ms);
    });
    try {
      await Promise.race([Promise.resolve().then(() => registered.check(controller.signal)), timeout]);
      return { status: 'healthy', latency_ms: elapsedMs(started) };
    } catch (error) {
      return { status: 'unhealthy', latency_ms: elapsedMs(started), error: describeFailure(error) };
    } finally {
      clearTimeout(timer);
    }
  }
}

function elapsedMs(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}
