import assert from 'node:assert/strict';
import { OutboxEvent } from '@afc/card-state';
import { windowStarts } from '@afc/domain';
import { Value } from '@sinclair/typebox/value';

export interface Card {
  readonly card_token: string;
  readonly user_token: string;
}

type Program = 'business' | 'personal';

const methods: Record<OutboxEvent['kind'], string> = {
  authorization: 'pgfs.authorization',
  incremental: 'pgfs.authorization.incremental',
  account_verification: 'pgfs.authorization.account_verification',
  balance_inquiry: 'pgfs.balanceinquiry',
  reversal: 'pgfs.authorization.reversal',
  clearing: 'pgfs.authorization.clearing',
  refund: 'pgfs.refund',
  advice: 'pgfs.authorization.advice',
};

// One hold as card-state keeps it (lua: approve, release_from_hold, capture_from_hold,
// release_after_timeout), in one day: the events it would emit, shaped exactly like the
// authorizer's OutboxEvent. Personal holds move the wallet as lib.lua's wallet_delta does.
export class HoldModel {
  readonly jit_token: string;
  readonly program: Program;
  held = 0;
  authorized = 0;
  released = 0;
  captured = 0;
  counted_count = 0;
  first_amount = 0;
  #sequence = 0;
  #now_ms: number;

  readonly card: Card;

  constructor(
    card: Card,
    jit_token: string,
    now_ms = Date.UTC(2024, 9, 4, 12),
    program: Program = 'business',
  ) {
    this.card = card;
    this.jit_token = jit_token;
    this.#now_ms = now_ms;
    this.program = program;
  }

  #balance(available_minor: number, held_minor: number) {
    return this.program === 'personal'
      ? { available_minor, held_minor }
      : { available_minor: 0, held_minor: 0 };
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
      method: methods[kind],
      jit_token: jit,
      ...(jit === this.jit_token ? {} : { original_jit_token: this.jit_token }),
      card_token: this.card.card_token,
      user_token: this.card.user_token,
      program: this.program,
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
    this.first_amount = amount;
    this.counted_count = 1;
    return this.#event('authorization.approved', 'authorization', this.jit_token, amount, {
      counter_deltas: [delta(amount, 1)],
      balance_delta: this.#balance(-amount, amount),
    });
  }

  increment(amount: number): OutboxEvent {
    this.held += amount;
    this.authorized += amount;
    return this.#event('authorization.incremental', 'incremental', this.#next('inc'), amount, {
      counter_deltas: [delta(amount, 0)],
      balance_delta: this.#balance(-amount, amount),
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
      balance_delta: this.#balance(release, -release),
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
      balance_delta: this.#balance(-excess, -consumed),
      note: excess > 0 ? 'over_captured' : 'captured',
    });
  }

  // refund_mode counters_unchanged: money back to a personal wallet, counters untouched.
  refund(amount: number): OutboxEvent {
    return this.#event('transaction.refunded', 'refund', this.#next('ref'), amount, {
      balance_delta: this.#balance(amount, 0),
      note: 'refund_credited',
    });
  }

  // release_after_timeout of the authorization: everything still held given back, count too.
  timeout(): OutboxEvent {
    const release = this.held;
    const deltas = release > 0 ? [delta(-release, 0)] : [];
    if (this.counted_count > 0) deltas.push(delta(0, -this.counted_count));
    const amount = this.first_amount;
    this.held = 0;
    this.counted_count = 0;
    return this.#event('authorization.timeout_released', 'authorization', this.jit_token, amount, {
      counter_deltas: deltas,
      balance_delta: this.#balance(release, -release),
      decline_reason: 'TRANSACTION_NOT_PERMITTED',
      memo: 'timeout',
      hold: null,
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

const marqeta_types: Record<OutboxEvent['type'], string> = {
  'authorization.approved': 'authorization',
  'authorization.declined': 'authorization',
  'authorization.incremental': 'authorization.incremental',
  'authorization.reversed': 'authorization.reversal',
  'transaction.cleared': 'authorization.clearing',
  'transaction.refunded': 'refund',
  'authorization.advice': 'authorization.advice',
  'authorization.timeout_released': 'authorization',
};

function major(minor: number): string {
  return `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;
}

// Marqeta's transaction webhook event for the message an authorizer event answered (the same
// JIT funding token), as tools/marqeta-sim sends it: `token` is the transaction token.
export function webhookOf(event: OutboxEvent, transaction_token: string): Record<string, unknown> {
  const timed_out = event.type === 'authorization.timeout_released';
  const declined = timed_out || event.type === 'authorization.declined';
  const type = marqeta_types[event.type];
  const state = declined ? 'DECLINED' : type === 'authorization' ? 'PENDING' : 'COMPLETION';
  const jit_funding = {
    token: event.jit_token,
    method: event.method,
    user_token: event.user_token,
    amount: major(Math.max(0, event.amount_minor)),
    ...(event.original_jit_token === undefined
      ? {}
      : { original_jit_funding_token: event.original_jit_token }),
    ...(declined ? { decline_reason: event.decline_reason ?? 'TRANSACTION_NOT_PERMITTED' } : {}),
    ...(event.memo === undefined ? {} : { memo: event.memo }),
  };
  return {
    token: transaction_token,
    type,
    state,
    user_token: event.user_token,
    card_token: event.card_token,
    amount: major(Math.max(0, event.amount_minor)),
    currency_code: event.currency,
    network: 'VISA',
    created_time: new Date(event.occurred_at_ms + 500).toISOString(),
    gpa_order: {
      token: `gpa-${event.jit_token}`,
      jit_funding,
      funding: { gateway_log: { timed_out, duration: timed_out ? 3_000 : 40, message: 'x' } },
    },
    card_acceptor: { mid: 'mid-1', mcc: '5812', name: 'Cafe', country_code: 'USA' },
  };
}
