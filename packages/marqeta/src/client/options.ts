import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@afc/log';
import type { Registry } from 'prom-client';
import type { Dispatcher } from 'undici';
import type { CircuitBreakerOptions, CircuitStateChange } from './circuit-breaker.ts';
import { assertRetryOptions, type RetryOptions } from './retry.ts';

// Time as the retry loop and the breaker see it. Tests pass a clock whose sleep returns at once
// (recording the delay) and whose now they move by hand.
export interface MarqetaClock {
  now(): number;
  sleep(delay_ms: number): Promise<void>;
}

export const system_clock: MarqetaClock = {
  now: () => Date.now(),
  sleep: (delay_ms) => sleep(delay_ms, undefined, { ref: false }),
};

export interface MarqetaClientOptions {
  // e.g. https://sandbox-api.marqeta.com/v3; one connection pool per client.
  readonly base_url: string;
  // HTTP Basic: the application token is the user, the admin access token the password.
  readonly application_token: string;
  readonly admin_access_token: string;
  readonly logger: Logger;
  // Connections kept to Marqeta at most (one request at a time each: pipelining 1).
  readonly connections?: number;
  readonly connect_timeout_ms?: number;
  // Idle bounds of undici: until the status line and headers, then between body chunks.
  readonly headers_timeout_ms?: number;
  readonly body_timeout_ms?: number;
  // Bound of one whole attempt, body included.
  readonly request_timeout_ms?: number;
  readonly keep_alive_timeout_ms?: number;
  readonly keep_alive_max_timeout_ms?: number;
  readonly max_response_bytes?: number;
  readonly retry?: Partial<RetryOptions>;
  readonly breaker?: Partial<CircuitBreakerOptions>;
  readonly clock?: MarqetaClock;
  // In [0, 1): the jitter's dice.
  readonly random?: () => number;
  // Instead of the client's own Pool (tests: a MockAgent). The caller keeps and closes it.
  readonly dispatcher?: Dispatcher;
  readonly onStateChange?: (change: CircuitStateChange) => void;
  // Registers the afc_marqeta_circuit_state gauge (0 closed, 1 half-open, 2 open) by origin.
  readonly metrics_registry?: Registry;
}

export interface ResolvedClientOptions {
  readonly origin: string;
  // The base URL's path without its trailing slash, e.g. /v3.
  readonly base_path: string;
  readonly connections: number;
  readonly connect_timeout_ms: number;
  readonly headers_timeout_ms: number;
  readonly body_timeout_ms: number;
  readonly request_timeout_ms: number;
  readonly keep_alive_timeout_ms: number;
  readonly keep_alive_max_timeout_ms: number;
  readonly max_response_bytes: number;
  readonly retry: RetryOptions;
  readonly breaker: CircuitBreakerOptions;
}

// Chosen for an issuer's back office (user and card management), not the JIT hot path: a slow
// Marqeta is waited for a little, then given up on and left alone for a while.
export const default_retry: RetryOptions = {
  max_attempts: 3,
  base_delay_ms: 200,
  max_delay_ms: 10_000,
  jitter: 'full',
};

export const default_breaker: CircuitBreakerOptions = {
  failure_threshold: 5,
  failure_ratio: 0.5,
  window_size: 20,
  minimum_calls: 10,
  cool_down_ms: 30_000,
};

export function resolveClientOptions(options: MarqetaClientOptions): ResolvedClientOptions {
  assert.ok(options.application_token.length > 0, 'application_token is required');
  assert.ok(options.admin_access_token.length > 0, 'admin_access_token is required');
  const url = new URL(options.base_url);
  assert.ok(url.protocol === 'https:' || url.protocol === 'http:', 'base_url must be http(s)');
  // Credentials travel in the Authorization header only, never in a URL that may be logged.
  assert.ok(url.username === '' && url.password === '', 'base_url must not carry credentials');
  assert.ok(url.search === '' && url.hash === '', 'base_url must not carry a query or fragment');
  const resolved: ResolvedClientOptions = {
    origin: url.origin,
    base_path: url.pathname.replace(/\/+$/, ''),
    connections: options.connections ?? 10,
    connect_timeout_ms: options.connect_timeout_ms ?? 5_000,
    headers_timeout_ms: options.headers_timeout_ms ?? 10_000,
    body_timeout_ms: options.body_timeout_ms ?? 10_000,
    request_timeout_ms: options.request_timeout_ms ?? 20_000,
    keep_alive_timeout_ms: options.keep_alive_timeout_ms ?? 4_000,
    keep_alive_max_timeout_ms: options.keep_alive_max_timeout_ms ?? 60_000,
    max_response_bytes: options.max_response_bytes ?? 1024 * 1024,
    retry: { ...default_retry, ...options.retry },
    breaker: { ...default_breaker, ...options.breaker },
  };
  assert.ok(Number.isInteger(resolved.connections) && resolved.connections >= 1);
  for (const bound of [
    resolved.connect_timeout_ms,
    resolved.headers_timeout_ms,
    resolved.body_timeout_ms,
    resolved.request_timeout_ms,
    resolved.keep_alive_timeout_ms,
    resolved.max_response_bytes,
  ]) {
    assert.ok(Number.isFinite(bound) && bound > 0, 'timeouts and sizes must be positive');
  }
  assert.ok(resolved.keep_alive_max_timeout_ms >= resolved.keep_alive_timeout_ms);
  assertRetryOptions(resolved.retry);
  return resolved;
}
