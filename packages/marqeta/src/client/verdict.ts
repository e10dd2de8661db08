import {
  type MarqetaCallInfo,
  type MarqetaError,
  MarqetaHttpError,
  MarqetaInvalidResponseError,
  MarqetaNetworkError,
  MarqetaTimeoutError,
} from './errors.ts';
import { isRetryableStatus, parseRetryAfterMs } from './retry.ts';
import { type Checker, compileChecker, ErrorBody } from './schemas.ts';
import type { AttemptResult } from './transport.ts';

export type Verdict<T> =
  | { readonly ok: true; readonly value: T }
  | {
      readonly ok: false;
      readonly error: MarqetaError;
      readonly retryable: boolean;
      readonly retry_after_ms: number | undefined;
    };

const error_body = compileChecker(ErrorBody);
// Marqeta's messages are short; a proxy's HTML page is not worth carrying around.
const max_error_message_chars = 500;

// What one attempt's result means: a value, or an error and whether another attempt may help.
export function judge<T>(
  result: AttemptResult,
  call: MarqetaCallInfo,
  checker: Checker<T>,
  now_ms: number,
): Verdict<T> {
  switch (result.kind) {
    case 'timeout':
      return failed(new MarqetaTimeoutError(call, { cause: result.cause }), true);
    case 'network':
      return failed(new MarqetaNetworkError(call, { cause: result.cause }), true);
    case 'oversize':
      return failed(
        new MarqetaInvalidResponseError(call, result.status, ['answer exceeds max_response_bytes']),
        false,
      );
    case 'answer':
      break;
  }
  if (result.status >= 200 && result.status <= 299) return parsed(result.status, result.text, call, checker);
  const body = parseJson(result.text);
  const known = error_body.check(body) ? body : {};
  const error = new MarqetaHttpError(
    call,
    result.status,
    known.error_code === undefined ? undefined : String(known.error_code),
    known.error_message?.slice(0, max_error_message_chars),
  );
  const retryable = isRetryableStatus(result.status);
  // Only a retryable answer's Retry-After matters: other 4xx are not retried at all.
  const retry_after_ms = retryable ? parseRetryAfterMs(result.headers['retry-after'], now_ms) : undefined;
  return { ok: false, error, retryable, retry_after_ms };
}

// A success that does not fit is not retried: the same Marqeta would answer the same thing.
function parsed<T>(status: number, text: string, call: MarqetaCallInfo, checker: Checker<T>): Verdict<T> {
  const body = parseJson(text);
  if (body === unparseable) {
    return failed(new MarqetaInvalidResponseError(call, status, ['body is not JSON']), false);
  }
  if (!checker.check(body)) {
    return failed(new MarqetaInvalidResponseError(call, status, checker.issues(body)), false);
  }
  return { ok: true, value: body };
}

const unparseable = Symbol('unparseable');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return unparseable;
  }
}

function failed(error: MarqetaError, retryable: boolean): Verdict<never> {
  return { ok: false, error, retryable, retry_after_ms: undefined };
}
