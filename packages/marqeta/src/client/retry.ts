import assert from 'node:assert/strict';

export type Jitter = 'full' | 'equal';

export interface RetryOptions {
  // Attempts in total, the first included.
  readonly max_attempts: number;
  readonly base_delay_ms: number;
  // Caps the backoff and a server's Retry-After alike.
  readonly max_delay_ms: number;
  // full: anywhere in [0, backoff]; equal: in [backoff/2, backoff].
  readonly jitter: Jitter;
}

export function assertRetryOptions(options: RetryOptions): void {
  assert.ok(Number.isInteger(options.max_attempts) && options.max_attempts >= 1, 'max_attempts must be >= 1');
  assert.ok(options.max_attempts <= 10, 'max_attempts above 10 would hammer Marqeta');
  assert.ok(options.base_delay_ms >= 0 && options.max_delay_ms >= options.base_delay_ms);
  assert.ok(options.jitter === 'full' || options.jitter === 'equal');
}

// Delay before attempt `failed_attempt + 1`: exponential, capped, jittered so that clients that
// failed together do not come back together. A Retry-After from Marqeta is a floor (it knows its
// rate limit better than our backoff does), the cap still applies so a hostile or confused
// answer cannot park us for an hour.
export function retryDelayMs(
  options: RetryOptions,
  failed_attempt: number,
  random: () => number,
  retry_after_ms: number | undefined,
): number {
  const ceiling = Math.min(options.max_delay_ms, options.base_delay_ms * 2 ** (failed_attempt - 1));
  const roll = Math.min(Math.max(random(), 0), 1);
  const jittered = options.jitter === 'full' ? ceiling * roll : ceiling / 2 + (ceiling / 2) * roll;
  const wanted = retry_after_ms === undefined ? jittered : Math.max(jittered, retry_after_ms);
  return Math.round(Math.min(wanted, options.max_delay_ms));
}

const month_name = /\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b/;

// Retry-After is either delay-seconds or an HTTP date (RFC 9110 §10.2.3). Anything else is
// ignored rather than trusted.
export function parseRetryAfterMs(value: string | string[] | undefined, now_ms: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (/^[0-9]{1,9}$/.test(trimmed)) return Number(trimmed) * 1_000;
  // Every HTTP date form names its month; Date.parse alone would take "-1" or "1.5" for dates.
  if (!month_name.test(trimmed)) return undefined;
  const date_ms = Date.parse(trimmed);
  if (Number.isNaN(date_ms)) return undefined;
  return Math.max(0, date_ms - now_ms);
}

export function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}

// undici's and Node's codes for an attempt that got no answer in time.
const timeout_codes = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
]);

// Codes of a connection that failed or closed without a (whole) answer.
const network_codes = new Set([
  'UND_ERR_SOCKET',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

export type TransportFailure = 'timeout' | 'network' | undefined;

// undefined: not a transport failure (a bug or a misuse), to be thrown as is.
export function transportFailureOf(error: unknown): TransportFailure {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (timeout_codes.has(code)) return 'timeout';
  if (network_codes.has(code)) return 'network';
  return undefined;
}
