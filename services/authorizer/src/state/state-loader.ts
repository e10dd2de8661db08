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
  // Negative cache for informative messages: an unknown card is not looked up again for this long.
  readonly unknown_card_ttl_s: number;
}

// unknown: not in the data of record; another_cardholder: the card is, but the message names
// another cardholder than its owner.
export type LoadResult = 'loaded' | 'unknown' | 'another_cardholder' | 'busy';

// A decision about a card that is not the message's cardholder's writes nothing to Redis
// ('answer'): it is declined from the load's result, so a stream of unknown tokens leaves no
// trace. An informative message ('remember') has already moved money at Marqeta: the card is
// marked unknown in the message's partition, and the script records the message against it.
export type OnUnknownCard = 'answer' | 'remember';

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

  load(
    user_token: string,
    card_token: string,
    now_ms: number,
    on_unknown: OnUnknownCard,
  ): Promise<LoadResult> {
    // By user, card and purpose: a request naming another user must not share the owner's
    // result, and a decision's load must not wait for (or skip) an informative one's write.
    const key = `${on_unknown}\u0000${user_token}\u0000${card_token}`;
    const running = this.#in_flight.get(key);
    if (running !== undefined) return running;
    if (this.#in_flight.size >= this.#options.max_concurrent_loads) return Promise.resolve('busy');
    const load = this.#load(user_token, card_token, now_ms, on_unknown).finally(() =>
      this.#in_flight.delete(key),
    );
    this.#in_flight.set(key, load);
    return load;
  }

  async #load(
    user_token: string,
    card_token: string,
    now_ms: number,
    on_unknown: OnUnknownCard,
  ): Promise<LoadResult> {
    const { writer, unknown_card_ttl_s } = this.#options;
    const record = await readCardRecord(this.#options.sources, card_token, now_ms);
    let result: LoadResult = 'loaded';
    if (record === undefined) result = 'unknown';
    else if (record.card.user_token !== user_token) result = 'another_cardholder';
    if (result !== 'loaded' && on_unknown === 'answer') return result;
    if (record !== undefined) {
      await writer.writeRecord(record);
      this.#options.logger.debug({ card_token, program: record.card.program }, 'card state loaded');
    }
    // State lives in the owner's partition; to the partition of the user the message named, the
    // card is unknown, so the informative message is noted card_not_found in one script.
    if (result !== 'loaded') await writer.writeUnknownCard(user_token, card_token, unknown_card_ttl_s);
    return result;
  }
}
