import assert from 'node:assert/strict';
import { OutboxEvent } from '@afc/card-state';
import { windowStarts } from '@afc/domain';
import { Value } from '@sinclair/typebox/value';

export interface Card {
  readonly card_token: string;
  readonly user_token: string;
}

// One hold as card-state keeps it (lua: approve, release_from_hold, capture_from_hold), in one
// day: the events it would emit, shaped exactly like the authorizer's OutboxEvent.
export class HoldModel {
  readonly jit_token: string;
  held = 0;
  authorized = 0;
  released = 0;
  captured = 0;
  counted_count = 0;
  #sequence = 0;
  #now_ms: number;

  readonly card: Card;

  constructor(card: Card, jit_token: string, now_ms = Date.UTC(2024, 9, 4, 12)) {
    this.card = card;
    this.jit_token = jit_token;
    this.#now_ms = now_ms;
  }

  #event(
    type: OutboxEvent['type'],
    kind: OutboxEvent['kind'],
    jit: string,
    amount: number,
    extra: Partial<OutboxEvent>,
  ) {
    const starts = windowStarts(this.#now_ms);
    const event: OutboxEvent = {
      event_id: `${jit}:${type}`,
      type,
      occurred_at_ms: this.#now_ms + this.#sequence * 1_000,
      kind,
      method: `pgfs.${kind === 'clearing' ? 'authorization.clearing' : kind === 'reversal' ? 'authorization.reversal' : 'authorization'}`,
      jit_token: jit,
      ...(jit === this.jit_token ? {} : { original_jit_token: this.jit_token }),
      card_token: this.card.card_token,
      user_token: this.card.user_token,
      program: 'business',
      amount_minor: amount,
      currency: 'USD',
      merchant: { mcc: '5812', mid: 'mid-1', country: 'USA', name: 'Cafe' },
      counter_deltas: [],
      balance_delta: { available_minor: 0, held_minor: 0 },
      hold: {
        amount_minor: this.held,
        authorized_minor: this.authorized,
        released_minor: this.released,
        captured_minor: this.captured,
      },
      ...extra,
    };
    const deltas = event.counter_deltas.map((d) => ({
      ...d,
      day_start: starts.day,
      week_start: starts.week,
      month_start: starts.month,
    }));
    const shaped = { ...event, counter_deltas: deltas };
    assert.ok(Value.Check(OutboxEvent, shaped), JSON.stringify([...Value.Errors(OutboxEvent, shaped)][0]));
    return shaped;
  }

  #next(suffix: string): string {
    this.#sequence += 1;
    return `${this.jit_token}-${suffix}${this.#sequence}`;
  }

  authorize(amount: number): OutboxEvent {
    this.held += amount;
    this.authorized += amount;
    this.counted_count = 1;
    return this.#event('authorization.approved', 'authorization', this.jit_token, amount, {
      counter_deltas: [delta(amount, 1)],
    });
  }

  increment(amount: number): OutboxEvent {
    this.held += amount;
    this.authorized += amount;
    return this.#event('authorization.incremental', 'incremental', this.#next('inc'), amount, {
      counter_deltas: [delta(amount, 0)],
    });
  }

  // Releases min(amount, held); the count goes back when nothing stays held.
  reverse(amount: number): OutboxEvent {
    const release = Math.min(amount, this.held);
    this.held -= release;
    this.released += release;
    const deltas = release > 0 ? [delta(-release, 0)] : [];
    if (this.held === 0 && this.counted_count > 0) {
      deltas.push(delta(0, -this.counted_count));
      this.counted_count = 0;
    }
    return this.#event('authorization.reversed', 'reversal', this.#next('rev'), amount, {
      counter_deltas: deltas,
      note: release < amount ? 'release_capped' : 'released',
    });
  }

  // Captures from the hold; the excess is spend counted today. Counters stay put otherwise.
  clear(amount: number): OutboxEvent {
    const consumed = Math.min(amount, this.held);
    const excess = amount - consumed;
    this.held -= consumed;
    this.captured += consumed;
    this.counted_count = 0;
    return this.#event('transaction.cleared', 'clearing', this.#next('clr'), amount, {
      counter_deltas: excess > 0 ? [delta(excess, 0)] : [],
      note: excess > 0 ? 'over_captured' : 'captured',
    });
  }

  decline(jit: string, amount: number): OutboxEvent {
    return this.#event('authorization.declined', 'authorization', jit, amount, {
      decline_reason: 'AMOUNT_LIMIT_EXCEEDED',
      memo: 'daily_amount_limit',
      hold: null,
    });
  }
}

function delta(amount_minor: number, count: number) {
  return { day_start: 0, week_start: 0, month_start: 0, amount_minor, count };
}
