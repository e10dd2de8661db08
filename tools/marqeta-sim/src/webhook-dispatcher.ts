import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Logger } from '@afc/log';
import type { Dispatcher } from 'undici';
import { MarqetaSimError, sim_error_codes } from './errors.ts';
import { type OutboundResult, postJson } from './http-out.ts';
import { type ResolvedOptions, webhook_batch_size } from './options.ts';
import type { SeededRandom } from './random.ts';
import type { DeliveryRecord, SimState, WebhookObject } from './state.ts';
import { signature_header, signBody } from './webhook-signing.ts';

export type EventKind = 'transaction' | 'cardtransition' | 'usertransition';

export const body_keys: Readonly<Record<EventKind, string>> = {
  transaction: 'transactions',
  cardtransition: 'cardtransitions',
  usertransition: 'usertransitions',
};

export interface WebhookEvent {
  readonly kind: EventKind;
  // Full event name, matched against subscriptions: 'transaction.authorization', ...
  readonly name: string;
  readonly token: string;
  readonly payload: Record<string, unknown>;
}

interface Queued {
  readonly delivery: DeliveryRecord;
  readonly body: string;
  readonly event_count: number;
}

export interface DispatcherDeps {
  readonly state: SimState;
  readonly options: ResolvedOptions;
  readonly random: SeededRandom;
  readonly http: Dispatcher;
  readonly logger: Logger;
  readonly paused: () => boolean;
}

export function matchesSubscription(events: readonly string[], name: string): boolean {
  return events.some((pattern) => {
    if (pattern === '*') return true;
    if (pattern.endsWith('.*')) return name.startsWith(pattern.slice(0, -1));
    return pattern === name;
  });
}

// Delivers events to the configured webhooks as Marqeta does: batched by type (up to 10 per
// body), signed, retried on anything but 200 with delays growing fourfold, sometimes twice.
// Everything waiting (unbatched events, ready bodies, bodies in flight or waiting for a retry)
// counts against one bound.
export class WebhookDispatcher {
  readonly #deps: DispatcherDeps;
  readonly #unbatched = new Map<string, WebhookEvent[]>();
  readonly #ready: Queued[] = [];
  readonly #retries = new Map<Queued, NodeJS.Timeout>();
  readonly #idle_waiters = new Set<() => void>();
  #queued_events = 0;
  #in_flight = 0;
  #batch_scheduled: NodeJS.Immediate | undefined;
  #fast_forward = false;
  #closed = false;

  constructor(deps: DispatcherDeps) {
    this.#deps = deps;
  }

  get queued_events(): number {
    return this.#queued_events;
  }

  stats() {
    return {
      queued_events: this.#queued_events,
      ready_bodies: this.#ready.length,
      in_flight: this.#in_flight,
      retries_scheduled: this.#retries.size,
      paused: this.#deps.paused(),
    };
  }

  enqueue(event: WebhookEvent): void {
    for (const { object: webhook } of this.#deps.state.webhooks.values()) {
      if (!webhook.active || !matchesSubscription(webhook.events, event.name)) continue;
      if (!this.#reserve(1, `event ${event.token} for webhook ${webhook.token}`)) continue;
      const list = this.#unbatched.get(webhook.token) ?? [];
      list.push(event);
      this.#unbatched.set(webhook.token, list);
    }
    this.#scheduleBatching();
  }

  // Sends one stored event again to one webhook; answers the body it sends.
  replay(webhook: WebhookObject, event: WebhookEvent): Record<string, unknown> {
    const body = { [body_keys[event.kind]]: [event.payload] };
    if (this.#reserve(1, `replay of ${event.token} for webhook ${webhook.token}`)) {
      this.#push(this.#queued(webhook.token, body_keys[event.kind], [event], 'replay'));
      this.#pump();
    }
    return body;
  }

  // A health ping goes out at once, signed like any body, and is not retried.
  ping(webhook: WebhookObject): Promise<{ readonly body: string; readonly result: OutboundResult }> {
    const body = JSON.stringify({ pings: [{ token: 'marqeta', payload: 'healthcheck' }] });
    return this.#send(webhook, body).then((result) => ({ body, result }));
  }

  // Runs every scheduled retry now and waits until nothing is left to deliver.
  async flush(options: { readonly timeout_ms?: number } = {}): Promise<void> {
    this.#fast_forward = true;
    try {
      for (const [queued, timer] of this.#retries) {
        clearTimeout(timer);
        this.#retries.delete(queued);
        this.#push(queued);
      }
      this.#scheduleBatching();
      this.#pump();
      await this.idle(options);
    } finally {
      this.#fast_forward = false;
    }
  }

  idle(options: { readonly timeout_ms?: number } = {}): Promise<void> {
    const timeout_ms = options.timeout_ms ?? 10_000;
    if (this.#isIdle()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.#idle_waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#idle_waiters.delete(done);
        const stats = JSON.stringify(this.stats());
        reject(
          new MarqetaSimError(
            sim_error_codes.idle_timeout,
            `webhooks not idle after ${timeout_ms} ms: ${stats}`,
          ),
        );
      }, timeout_ms);
      this.#idle_waiters.add(done);
    });
  }

  // Called when the pause knob is released.
  resume(): void {
    this.#scheduleBatching();
    this.#pump();
  }

  close(): void {
    this.#closed = true;
    if (this.#batch_scheduled !== undefined) clearImmediate(this.#batch_scheduled);
    for (const timer of this.#retries.values()) clearTimeout(timer);
    this.#retries.clear();
  }

  #reserve(count: number, what: string): boolean {
    if (this.#queued_events + count <= this.#deps.options.webhook_max_queued_events) {
      this.#queued_events += count;
      return true;
    }
    const message = `webhook queue full (${this.#deps.options.webhook_max_queued_events} events): dropped ${what}`;
    this.#deps.state.reportError(sim_error_codes.webhook_queue_full, message);
    this.#deps.logger.error({ code: sim_error_codes.webhook_queue_full }, message);
    return false;
  }

  #scheduleBatching(): void {
    if (this.#batch_scheduled !== undefined || this.#closed) return;
    // Deferred one turn so that events produced together leave together.
    this.#batch_scheduled = setImmediate(() => {
      this.#batch_scheduled = undefined;
      this.#batch();
      this.#notifyIfIdle();
    });
  }

  #batch(): void {
    if (this.#deps.paused()) return;
    for (const [webhook_token, events] of this.#unbatched) {
      this.#unbatched.delete(webhook_token);
      for (const kind of Object.keys(body_keys) as EventKind[]) {
        const of_kind = events.filter((event) => event.kind === kind);
        for (let start = 0; start < of_kind.length; start += webhook_batch_size) {
          const chunk = of_kind.slice(start, start + webhook_batch_size);
          this.#push(this.#queued(webhook_token, body_keys[kind], chunk, 'event'));
        }
      }
    }
    this.#pump();
  }

  #queued(
    webhook_token: string,
    body_key: string,
    events: readonly WebhookEvent[],
    origin: DeliveryRecord['origin'],
  ) {
    const delivery: DeliveryRecord = {
      id: randomUUID(),
      webhook_token,
      body_key,
      event_tokens: events.map((event) => event.token),
      origin,
      attempts: [],
      outcome: 'pending',
    };
    this.#deps.state.recordDelivery(delivery);
    const body = JSON.stringify({ [body_key]: events.map((event) => event.payload) });
    return { delivery, body, event_count: events.length };
  }

  #push(queued: Queued): void {
    this.#ready.push(queued);
  }

  #pump(): void {
    const limit = this.#deps.options.webhook_max_concurrent_deliveries;
    while (!this.#closed && !this.#deps.paused() && this.#in_flight < limit && this.#ready.length > 0) {
      const next = this.#ready.shift();
      assert.ok(next !== undefined);
      this.#in_flight += 1;
      void this.#attempt(next).finally(() => {
        this.#in_flight -= 1;
        this.#pump();
        this.#notifyIfIdle();
      });
    }
  }

  async #attempt(queued: Queued): Promise<void> {
    const { delivery } = queued;
    const webhook = this.#deps.state.webhooks.get(delivery.webhook_token)?.object;
    const attempt = delivery.attempts.length + 1;
    const result: OutboundResult =
      webhook === undefined || !webhook.active
        ? { duration_ms: 0, timed_out: false, error: 'webhook inactive' }
        : await this.#send(webhook, queued.body);
    if (this.#closed) return;
    delivery.attempts.push({
      attempt,
      at: new Date().toISOString(),
      ...(result.status_code === undefined ? {} : { status_code: result.status_code }),
      ...(result.error === undefined ? {} : { error: result.error }),
    });
    if (result.status_code === 200) return this.#delivered(queued);
    if (attempt >= this.#deps.options.webhook_max_attempts || webhook === undefined || !webhook.active) {
      return this.#failed(queued);
    }
    this.#scheduleRetry(queued, attempt);
  }

  #send(webhook: WebhookObject, body: string): Promise<OutboundResult> {
    const { config } = webhook;
    const headers: Record<string, string> = { ...config.custom_header };
    if (config.secret !== undefined)
      headers[signature_header] = signBody(body, config.secret, config.signature_algorithm);
    return postJson(this.#deps.http, {
      url: config.url,
      username: config.basic_auth_username,
      password: config.basic_auth_password,
      headers,
      body,
      timeout_ms: this.#deps.options.webhook_timeout_ms,
      max_response_bytes: 64 * 1024,
    });
  }

  #delivered(queued: Queued): void {
    queued.delivery.outcome = 'delivered';
    this.#queued_events -= queued.event_count;
    // At-least-once: now and then the same body goes out again (never a third time).
    const { delivery } = queued;
    if (delivery.origin === 'event' && this.#deps.random.chance(this.#deps.options.duplicate_webhook_rate)) {
      if (this.#reserve(queued.event_count, `duplicate of delivery ${delivery.id}`)) {
        const duplicate: DeliveryRecord = {
          ...delivery,
          id: randomUUID(),
          origin: 'duplicate',
          attempts: [],
          outcome: 'pending',
        };
        this.#deps.state.recordDelivery(duplicate);
        this.#push({ delivery: duplicate, body: queued.body, event_count: queued.event_count });
      }
    }
  }

  #failed(queued: Queued): void {
    queued.delivery.outcome = 'failed';
    this.#queued_events -= queued.event_count;
    const message = `webhook delivery ${queued.delivery.id} to ${queued.delivery.webhook_token} failed after ${queued.delivery.attempts.length} attempts`;
    this.#deps.state.reportError(sim_error_codes.webhook_delivery_failed, message);
    this.#deps.logger.warn(
      { code: sim_error_codes.webhook_delivery_failed, delivery_id: queued.delivery.id },
      message,
    );
  }

  // 4 s, 16 s, 64 s, ... times the delay factor, with ±20 % jitter so retries spread out.
  #scheduleRetry(queued: Queued, attempt: number): void {
    if (this.#fast_forward) {
      this.#push(queued);
      return;
    }
    const base_ms = 4_000 * 4 ** (attempt - 1) * this.#deps.options.webhook_delay_factor;
    const delay_ms = Math.min(2_147_483_647, Math.round(base_ms * (0.8 + 0.4 * this.#deps.random.next())));
    const timer = setTimeout(() => {
      this.#retries.delete(queued);
      this.#push(queued);
      this.#pump();
    }, delay_ms);
    timer.unref();
    this.#retries.set(queued, timer);
  }

  #isIdle(): boolean {
    let unbatched = 0;
    for (const events of this.#unbatched.values()) unbatched += events.length;
    return (
      unbatched === 0 &&
      this.#ready.length === 0 &&
      this.#in_flight === 0 &&
      this.#retries.size === 0 &&
      this.#batch_scheduled === undefined
    );
  }

  #notifyIfIdle(): void {
    if (!this.#isIdle()) return;
    for (const waiter of [...this.#idle_waiters]) waiter();
  }
}
