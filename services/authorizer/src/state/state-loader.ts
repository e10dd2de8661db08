import { type CardRecord, type RecordSources, readCardRecord } from '@afc/card-state';
import type { Logger } from '@afc/log';

// What the loader writes to Redis: versioned documents never regress, counters and balances
// are written only where Redis has none loaded (a reload never overwrites live counting).
export interface StateWriter {
  writeRecord(record: CardRecord): Promise<void>;
  writeUnknownCard(user_token: string, card_token: string, ttl_s: number): Promise<void>;
}

export interface StateLoaderOptions {
  readonly sources: RecordSources;
  readonly writer: StateWriter;
  readonly logger: Logger;
  // Loads running at once; past it a miss is answered system_error at once instead of
  // queueing behind a slow database (every queue has a maximum).
  readonly max_concurrent_loads: number;
  // Negative cache: an unknown card is not looked up again for this long.
  readonly unknown_card_ttl_s: number;
}

export type LoadResult = 'loaded' | 'unknown' | 'busy';

// Loads a card's state from the data of record into Redis, one load per card at a time in
// this process: concurrent misses for the same card share the one load. Across processes two
// loads may race; the writes are versioned and guarded, so the second is a no-op.
export class StateLoader {
  readonly #options: StateLoaderOptions;
  readonly #in_flight = new Map<string, Promise<LoadResult>>();

  constructor(options: StateLoaderOptions) {
    this.#options = options;
  }

  get in_flight_count(): number {
    return this.#in_flight.size;
  }

  load(user_token: string, card_token: string, now_ms: number): Promise<LoadResult> {
    // By user and card: a request naming another user must not share the owner's result.
    const key = `${user_token}\u0000${card_token}`;
    const running = this.#in_flight.get(key);
    if (running !== undefined) return running;
    if (this.#in_flight.size >= this.#options.max_concurrent_loads) return Promise.resolve('busy');
    const load = this.#load(user_token, card_token, now_ms).finally(() => this.#in_flight.delete(key));
    this.#in_flight.set(key, load);
    return load;
  }

  async #load(user_token: string, card_token: string, now_ms: number): Promise<LoadResult> {
    const record = await readCardRecord(this.#options.sources, card_token, now_ms);
    if (record === undefined) {
      await this.#options.writer.writeUnknownCard(user_token, card_token, this.#options.unknown_card_ttl_s);
      return 'unknown';
    }
    await this.#options.writer.writeRecord(record);
    this.#options.logger.debug({ card_token, program: record.card.program }, 'card state loaded');
    if (record.card.user_token !== user_token) {
      // State lives in the owner's partition; the request named another user. To that user's
      // partition the card is unknown (INVALID_CARD), so the decision stays in one script.
      await this.#options.writer.writeUnknownCard(user_token, card_token, this.#options.unknown_card_ttl_s);
      return 'unknown';
    }
    return 'loaded';
  }
}
