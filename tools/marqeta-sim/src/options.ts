import assert from 'node:assert/strict';
import type { Logger } from '@afc/log';

// Fault knobs for drills. All can be set at construction and changed at run time through
// `POST /_sim/faults`.
export interface SimFaults {
  // Added before each JIT call, inside the funding source's timeout (a slow network).
  readonly jit_latency_ms: number;
  // Added before each Core API answer.
  readonly core_latency_ms: number;
  // Share of Core API requests answered 500.
  readonly core_error_rate: number;
  // Share of Core API requests answered 429 with Retry-After.
  readonly core_429_rate: number;
  readonly retry_after_s: number;
  // Share of Core API requests whose socket is destroyed without an answer.
  readonly drop_connection_rate: number;
  // Hold every webhook delivery (events accumulate, then go out batched on release).
  readonly webhooks_paused: boolean;
}

export const no_faults: SimFaults = {
  jit_latency_ms: 0,
  core_latency_ms: 0,
  core_error_rate: 0,
  core_429_rate: 0,
  retry_after_s: 1,
  drop_connection_rate: 0,
  webhooks_paused: false,
};

export interface MarqetaSimOptions {
  // HTTP Basic credentials of the Core API (and of /_sim).
  readonly application_token: string;
  readonly admin_access_token: string;
  // Seeds merchants, POS data, fault rolls and jitter.
  readonly seed?: number;
  // Marqeta waits at most 3 s for the gateway, whatever timeout_millis says.
  readonly jit_timeout_ms?: number;
  // Multiplies the webhook retry delays (4 s, 16 s, 64 s, ...): 0.001 in tests.
  readonly webhook_delay_factor?: number;
  readonly webhook_max_attempts?: number;
  readonly webhook_timeout_ms?: number;
  // Bound of the delivery queue, in events; overflow is reported in state.errors.
  readonly webhook_max_queued_events?: number;
  readonly webhook_max_concurrent_deliveries?: number;
  // Share of delivered webhook bodies sent a second time (Marqeta delivers at least once).
  readonly duplicate_webhook_rate?: number;
  // When a simulation names no currency: this one, or (unset) the merchant's own.
  readonly default_currency_code?: string;
  // Bound of the inspection history (gateway logs, deliveries, errors) and of transactions kept.
  readonly max_history_entries?: number;
  readonly max_transactions?: number;
  readonly faults?: Partial<SimFaults>;
  readonly logger?: Logger;
  readonly log_level?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export interface ResolvedOptions {
  readonly application_token: string;
  readonly admin_access_token: string;
  readonly seed: number;
  readonly jit_timeout_ms: number;
  readonly webhook_delay_factor: number;
  readonly webhook_max_attempts: number;
  readonly webhook_timeout_ms: number;
  readonly webhook_max_queued_events: number;
  readonly webhook_max_concurrent_deliveries: number;
  readonly duplicate_webhook_rate: number;
  readonly default_currency_code: string | undefined;
  readonly max_history_entries: number;
  readonly max_transactions: number;
}

export const webhook_batch_size = 10;
export const max_latency_ms = 60_000;

export function resolveOptions(options: MarqetaSimOptions): ResolvedOptions {
  assert.ok(options.application_token.length > 0, 'application_token is required');
  assert.ok(options.admin_access_token.length > 0, 'admin_access_token is required');
  const resolved: ResolvedOptions = {
    application_token: options.application_token,
    admin_access_token: options.admin_access_token,
    seed: options.seed ?? 1,
    jit_timeout_ms: options.jit_timeout_ms ?? 3_000,
    webhook_delay_factor: options.webhook_delay_factor ?? 1,
    webhook_max_attempts: options.webhook_max_attempts ?? 10,
    webhook_timeout_ms: options.webhook_timeout_ms ?? 5_000,
    webhook_max_queued_events: options.webhook_max_queued_events ?? 10_000,
    webhook_max_concurrent_deliveries: options.webhook_max_concurrent_deliveries ?? 4,
    duplicate_webhook_rate: options.duplicate_webhook_rate ?? 0,
    default_currency_code: options.default_currency_code,
    max_history_entries: options.max_history_entries ?? 10_000,
    max_transactions: options.max_transactions ?? 100_000,
  };
  assert.ok(resolved.jit_timeout_ms > 0, 'jit_timeout_ms must be positive');
  assert.ok(resolved.webhook_delay_factor >= 0, 'webhook_delay_factor must not be negative');
  assert.ok(resolved.webhook_max_attempts >= 1 && resolved.webhook_max_attempts <= 20);
  assert.ok(resolved.webhook_timeout_ms > 0, 'webhook_timeout_ms must be positive');
  assert.ok(resolved.webhook_max_queued_events >= 1);
  assert.ok(resolved.webhook_max_concurrent_deliveries >= 1);
  assert.ok(resolved.duplicate_webhook_rate >= 0 && resolved.duplicate_webhook_rate <= 1);
  assert.ok(resolved.max_history_entries >= 1 && resolved.max_transactions >= 1);
  return resolved;
}

export function mergeFaults(current: SimFaults, change: Partial<SimFaults>): SimFaults {
  const next = { ...current, ...change };
  for (const rate of [next.core_error_rate, next.core_429_rate, next.drop_connection_rate]) {
    assert.ok(rate >= 0 && rate <= 1, 'fault rates must be within [0, 1]');
  }
  for (const latency of [next.jit_latency_ms, next.core_latency_ms]) {
    assert.ok(latency >= 0 && latency <= max_latency_ms, 'latencies must be within [0, 60000] ms');
  }
  assert.ok(Number.isInteger(next.retry_after_s) && next.retry_after_s >= 0);
  return next;
}
