import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Logger, logLimiter } from '@afc/log';

export interface BackgroundRetriesOptions<T> {
  readonly name: string;
  // Resolves with a label for the metric once done; throws to be tried again.
  readonly work: (request: T) => Promise<string>;
  // Whether an error can ever succeed on a retry (a rejected request cannot).
  readonly retryable: (error: unknown) => boolean;
  readonly logger: Logger;
  readonly on_result: (result: string) => void;
  // Bounded: past it new work is dropped and logged; the webhook that follows every Marqeta
  // message lets settlement repair what Redis missed (issue: durable retries).
  readonly max_pending: number;
  readonly max_attempts: number;
  readonly base_delay_ms: number;
  readonly max_delay_ms: number;
}

const max_keys_logged = 100;

// Work that must reach Redis after the JIT answer went out: releasing what a timed-out decision
// may have held, applying an informative message Redis refused for a moment. The work is
// idempotent by JIT token, so trying again is always safe. Retried with backoff and jitter,
// within a bound; deduplicated by key while pending.
export class BackgroundRetries<T> {
  readonly #options: BackgroundRetriesOptions<T>;
  readonly #pending = new Map<string, Promise<void>>();
  // An outage fails every pending work at every attempt: one line per second stands for them
  // (the metric counts each). Refusals, drops and abandonments are logged each, with their key.
  readonly #retry_log = logLimiter(1_000);

  constructor(options: BackgroundRetriesOptions<T>) {
    assert.ok(options.max_pending > 0 && options.max_attempts > 0, 'bounded retries');
    this.#options = options;
  }

  get pending_count(): number {
    return this.#pending.size;
  }

  schedule(key: string, request: T): void {
    if (this.#pending.has(key)) return;
    if (this.#pending.size >= this.#options.max_pending) {
      this.#options.on_result('dropped');
      this.#options.logger.error({ key, work: this.#options.name }, 'background work dropped: queue full');
      return;
    }
    const run = this.#run(key, request).finally(() => this.#pending.delete(key));
    this.#pending.set(key, run);
  }

  // Shutdown waits for work in flight, within a bound inside the shutdown deadline; what is
  // left is logged (settlement repairs it from Marqeta's webhooks).
  async drain(timeout_ms: number): Promise<void> {
    const deadline = sleep(timeout_ms, 'timeout' as const, { ref: false });
    const all = Promise.allSettled([...this.#pending.values()]).then(() => 'drained' as const);
    if ((await Promise.race([all, deadline])) === 'timeout') {
      // Named, so an operator can follow each one up (bounded: the log line stays small).
      const keys = [...this.#pending.keys()].slice(0, max_keys_logged);
      this.#options.logger.error(
        { work: this.#options.name, pending: this.#pending.size, keys },
        'background work still pending at shutdown',
      );
    }
  }

  async #run(key: string, request: T): Promise<void> {
    const { max_attempts, base_delay_ms, max_delay_ms, logger, name } = this.#options;
    let last_error: unknown;
    for (let attempt = 1; attempt <= max_attempts; attempt += 1) {
      try {
        this.#options.on_result(await this.#options.work(request));
        return;
      } catch (error) {
        if (!this.#options.retryable(error)) {
          this.#options.on_result('rejected');
          logger.error({ err: error, key, work: name }, 'background work rejected; not retried');
          return;
        }
        last_error = error;
        if (attempt === max_attempts) break;
        this.#options.on_result('retried');
        const suppressed = this.#retry_log();
        if (suppressed !== undefined)
          logger.warn(
            { err: error, key, work: name, attempt, suppressed },
            'background work failed; retrying',
          );
        const ceiling = Math.min(max_delay_ms, base_delay_ms * 2 ** (attempt - 1));
        await sleep(ceiling / 2 + Math.random() * (ceiling / 2));
      }
    }
    this.#options.on_result('abandoned');
    logger.error(
      { err: last_error, key, work: name, attempts: max_attempts },
      'background work abandoned after its attempts',
    );
  }
}
