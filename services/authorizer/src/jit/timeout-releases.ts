import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@afc/log';

export interface TimeoutReleasesOptions<T> {
  readonly release: (request: T) => Promise<void>;
  readonly logger: Logger;
  readonly on_result: (result: 'released' | 'retried' | 'abandoned' | 'dropped') => void;
  // Bounded queue: past it a release is dropped and logged (settlement's backstop: Marqeta's
  // webhook for the declined transaction releases the hold by JIT token).
  readonly max_pending: number;
  readonly max_attempts: number;
  readonly base_delay_ms: number;
  readonly max_delay_ms: number;
}

// Releases, by JIT token, whatever a decision may have held after we answered past the
// deadline. The script may still run later (ioredis resends after a reconnect), so the release
// is idempotent and also leaves a decline tombstone that a late run replays. Retried with
// backoff and jitter until Redis answers, within a bound.
export class TimeoutReleases<T extends { readonly jit_token: string }> {
  readonly #options: TimeoutReleasesOptions<T>;
  readonly #pending = new Map<string, Promise<void>>();

  constructor(options: TimeoutReleasesOptions<T>) {
    assert.ok(options.max_pending > 0 && options.max_attempts > 0, 'bounded releases');
    this.#options = options;
  }

  get pending_count(): number {
    return this.#pending.size;
  }

  schedule(request: T): void {
    if (this.#pending.has(request.jit_token)) return;
    if (this.#pending.size >= this.#options.max_pending) {
      this.#options.on_result('dropped');
      this.#options.logger.error({ jit_token: request.jit_token }, 'timeout release dropped: queue full');
      return;
    }
    const run = this.#run(request).finally(() => this.#pending.delete(request.jit_token));
    this.#pending.set(request.jit_token, run);
  }

  // Shutdown waits for releases in flight (each bounded by its attempts).
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#pending.values()]);
  }

  async #run(request: T): Promise<void> {
    const { max_attempts, base_delay_ms, max_delay_ms, logger } = this.#options;
    for (let attempt = 1; attempt <= max_attempts; attempt += 1) {
      try {
        await this.#options.release(request);
        this.#options.on_result('released');
        return;
      } catch (error) {
        this.#options.on_result('retried');
        logger.warn(
          { err: error, jit_token: request.jit_token, attempt },
          'timeout release failed; retrying',
        );
        const ceiling = Math.min(max_delay_ms, base_delay_ms * 2 ** (attempt - 1));
        await sleep(ceiling / 2 + Math.random() * (ceiling / 2));
      }
    }
    this.#options.on_result('abandoned');
    logger.error({ jit_token: request.jit_token }, 'timeout release abandoned after its attempts');
  }
}
