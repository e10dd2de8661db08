import assert from 'node:assert/strict';

export type CircuitState = 'closed' | 'open' | 'half_open';

export interface CircuitStateChange {
  readonly from: CircuitState;
  readonly to: CircuitState;
  // Clock time of the change, in ms.
  readonly at_ms: number;
}

export interface CircuitBreakerOptions {
  // Consecutive failed calls (after their retries) that open the breaker.
  readonly failure_threshold: number;
  // Or: this share of failures among the last window_size calls, once minimum_calls are in.
  readonly failure_ratio: number;
  readonly window_size: number;
  readonly minimum_calls: number;
  // How long the breaker stays open before it lets one probe through.
  readonly cool_down_ms: number;
}

// How a call ended, for the breaker: only failures that say Marqeta is unwell (network,
// timeouts, 429, 5xx, after retries) count against it. A 4xx is a healthy Marqeta refusing us.
export type CallOutcome = 'success' | 'failure' | 'neutral';

export interface Permit {
  readonly probe: boolean;
}

export type Admission =
  | { readonly ok: true; readonly permit: Permit }
  | { readonly ok: false; readonly retry_in_ms: number };

// Closed → open on too many failures; open → half-open when a call arrives after the cool-down
// (that call is the one probe; others are refused until it ends); half-open → closed when the
// probe succeeds, → open again (a new cool-down) when it fails. Time comes from `now` so that
// tests drive it without waiting.
export class CircuitBreaker {
  readonly #options: CircuitBreakerOptions;
  readonly #now: () => number;
  readonly #onChange: (change: CircuitStateChange) => void;
  #state: CircuitState = 'closed';
  #consecutive_failures = 0;
  // Outcomes of the latest calls while closed (true: failure), oldest first, at most window_size.
  #window: boolean[] = [];
  #opened_at_ms = 0;
  #probe_in_flight = false;

  constructor(
    options: CircuitBreakerOptions,
    now: () => number,
    onChange: (change: CircuitStateChange) => void,
  ) {
    assert.ok(Number.isInteger(options.failure_threshold) && options.failure_threshold >= 1);
    assert.ok(options.failure_ratio > 0 && options.failure_ratio <= 1);
    assert.ok(Number.isInteger(options.window_size) && options.window_size >= 1);
    assert.ok(Number.isInteger(options.minimum_calls) && options.minimum_calls >= 1);
    assert.ok(options.minimum_calls <= options.window_size, 'minimum_calls must fit in window_size');
    assert.ok(options.cool_down_ms >= 0);
    this.#options = options;
    this.#now = now;
    this.#onChange = onChange;
  }

  get state(): CircuitState {
    return this.#state;
  }

  admit(): Admission {
    if (this.#state === 'closed') return { ok: true, permit: { probe: false } };
    if (this.#state === 'open') {
      const retry_in_ms = this.#opened_at_ms + this.#options.cool_down_ms - this.#now();
      if (retry_in_ms > 0) return { ok: false, retry_in_ms };
      this.#move('half_open');
    }
    if (this.#probe_in_flight) return { ok: false, retry_in_ms: 0 };
    this.#probe_in_flight = true;
    return { ok: true, permit: { probe: true } };
  }

  record(permit: Permit, outcome: CallOutcome): void {
    if (permit.probe) {
      this.#probe_in_flight = false;
      if (outcome === 'success') this.#close();
      else if (outcome === 'failure') this.#open();
      // Neutral: Marqeta's health is still unknown; the next call probes again.
      return;
    }
    // A call admitted while closed that ends after the breaker moved says nothing new.
    if (this.#state !== 'closed' || outcome === 'neutral') return;
    const failed = outcome === 'failure';
    this.#consecutive_failures = failed ? this.#consecutive_failures + 1 : 0;
    this.#window.push(failed);
    if (this.#window.length > this.#options.window_size) this.#window.shift();
    if (this.#tripped()) this.#open();
  }

  #tripped(): boolean {
    if (this.#consecutive_failures >= this.#options.failure_threshold) return true;
    if (this.#window.length < this.#options.minimum_calls) return false;
    const failures = this.#window.filter(Boolean).length;
    return failures / this.#window.length >= this.#options.failure_ratio;
  }

  #open(): void {
    this.#opened_at_ms = this.#now();
    this.#move('open');
  }

  #close(): void {
    this.#consecutive_failures = 0;
    this.#window = [];
    this.#move('closed');
  }

  #move(to: CircuitState): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.#onChange({ from, to, at_ms: this.#now() });
  }
}
