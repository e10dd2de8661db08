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
  // Informative messages: how long the card stays marked unknown in Redis.
  readonly unknown_card_ttl_s: number;
  // Decisions: how long this process answers "not this cardholder's card" from memory, so
  // Marqeta's retries and bursts on one token do not each read the data of record and take a
  // load slot from real cold cards. Short: a card created meanwhile is declined this long.
  readonly unknown_answer_ttl_ms: number;
  readonly unknown_answers_max: number;
}

type NotTheirs = 'unknown' | 'another_cardholder';

// unknown: not in the data of record; another_cardholder: the card is, but the message names
// another cardholder than its owner.
export type LoadResult = 'loaded' | NotTheirs | 'busy';

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
  // By user and card, in insertion order (the oldest is evicted first); never written to Redis.
  readonly #answered = new Map<string, { readonly result: NotTheirs; readonly until_ms: number }>();

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
    const card_key = `${user_token}\u0000${card_token}`;
    if (on_unknown === 'answer') {
      const answered = this.#answeredBefore(card_key, now_ms);
      if (answered !== undefined) return Promise.resolve(answered);
    }
    // By user, card and purpose: a request naming another user must not share the owner's
    // result, and a decision's load must not wait for (or skip) an informative one's write.
    const key = `${on_unknown}\u0000${card_key}`;
    const running = this.#in_flight.get(key);
    if (running !== undefined) return running;
    if (this.#in_flight.size >= this.#options.max_concurrent_loads) return Promise.resolve('busy');
    const load = this.#load(user_token, card_token, now_ms, on_unknown)
      .then((result) => {
        if (on_unknown === 'answer' && result !== 'loaded') this.#remember(card_key, result, now_ms);
        return result;
      })
      .finally(() => this.#in_flight.delete(key));
    this.#in_flight.set(key, load);
    return load;
  }

  #answeredBefore(card_key: string, now_ms: number): NotTheirs | undefined {
    const answered = this.#answered.get(card_key);
    if (answered === undefined) return undefined;
    if (now_ms < answered.until_ms) return answered.result;
    this.#answered.delete(card_key);
    return undefined;
  }

  #remember(card_key: string, result: NotTheirs, now_ms: number): void {
    const { unknown_answer_ttl_ms, unknown_answers_max } = this.#options;
    this.#answered.delete(card_key);
    if (this.#answered.size >= unknown_answers_max) {
      const oldest = this.#answered.keys().next();
      if (oldest.done !== true) this.#answered.delete(oldest.value);
    }
    this.#answered.set(card_key, { result, until_ms: now_ms + unknown_answer_ttl_ms });
  }

  async #load(
    user_token: string,
    card_token: string,
    now_ms: number,
    on_unknown: OnUnknownCard,
  ): Promise<'loaded' | NotTheirs> {
    const { writer, unknown_card_ttl_s } = this.#options;
    const record = await readCardRecord(this.#options.sources, card_token, now_ms);
    let result: 'loaded' | NotTheirs = 'loaded';
    if (record === undefined) result = 'unknown';
    else if (record.card.user_token !== user_token) result = 'another_cardholder';
    if (result !== 'loaded' && on_unknown === 'answer') return result;
    if (record !== undefined) {
      await writer.writeRecord(record);
      this.#options.logger.debug({ card_token, program: record.card.program }, 'card state loaded');
    }
    // State lives in the owner's partition; to the partition of the user the message named, the
    // card is unknown, so the informative message is noted card_not_found in one script. (When
    // that partition is the owner's, the tombstone's NX leaves the card, and the script finds
    // the hold's or the card's owner mismatching instead.)
    if (result !== 'loaded') await writer.writeUnknownCard(user_token, card_token, unknown_card_ttl_s);
    return result;
  }
}
