// One small set of coded errors, matched by `code`, never by message (like undici's). None of
// them carries a request body: bodies hold credentials (funding sources, webhooks).
export const marqeta_error_codes = {
  http: 'AFC_MARQETA_HTTP',
  timeout: 'AFC_MARQETA_TIMEOUT',
  network: 'AFC_MARQETA_NETWORK',
  circuit_open: 'AFC_MARQETA_CIRCUIT_OPEN',
  invalid_response: 'AFC_MARQETA_INVALID_RESPONSE',
} as const;

export type MarqetaErrorCode = (typeof marqeta_error_codes)[keyof typeof marqeta_error_codes];

// Which call failed: method and path (tokens are our identifiers, not secrets).
export interface MarqetaCallInfo {
  readonly method: string;
  readonly path: string;
  // Attempts made before giving up (0 when the breaker refused the call).
  readonly attempts: number;
}

export class MarqetaError extends Error {
  readonly code: MarqetaErrorCode;
  readonly method: string;
  readonly path: string;
  readonly attempts: number;

  constructor(code: MarqetaErrorCode, message: string, call: MarqetaCallInfo, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MarqetaError';
    this.code = code;
    this.method = call.method;
    this.path = call.path;
    this.attempts = call.attempts;
  }
}

// Marqeta answered with a status other than 200/201: its own error_code ("400040": the status
// and three digits) and error_message when the body had them.
export class MarqetaHttpError extends MarqetaError {
  readonly status: number;
  readonly error_code: string | undefined;
  readonly error_message: string | undefined;

  constructor(
    call: MarqetaCallInfo,
    status: number,
    error_code: string | undefined,
    error_message: string | undefined,
  ) {
    const detail = error_code === undefined ? '' : ` ${error_code}`;
    super(
      marqeta_error_codes.http,
      `Marqeta answered ${status}${detail} to ${call.method} ${call.path}${error_message === undefined ? '' : `: ${error_message}`}`,
      call,
    );
    this.name = 'MarqetaHttpError';
    this.status = status;
    this.error_code = error_code;
    this.error_message = error_message;
  }
}

// No answer within connect_timeout_ms, headers_timeout_ms, body_timeout_ms or
// request_timeout_ms. A create may or may not have been applied: repeat it with the same token.
export class MarqetaTimeoutError extends MarqetaError {
  constructor(call: MarqetaCallInfo, options?: ErrorOptions) {
    super(
      marqeta_error_codes.timeout,
      `Marqeta did not answer ${call.method} ${call.path} in time`,
      call,
      options,
    );
    this.name = 'MarqetaTimeoutError';
  }
}

// The connection failed (refused, reset, closed without an answer). Same uncertainty as a timeout.
export class MarqetaNetworkError extends MarqetaError {
  constructor(call: MarqetaCallInfo, options?: ErrorOptions) {
    super(marqeta_error_codes.network, `Marqeta unreachable for ${call.method} ${call.path}`, call, options);
    this.name = 'MarqetaNetworkError';
  }
}

// The breaker is open (or its one half-open probe is in flight): nothing was sent.
export class MarqetaCircuitOpenError extends MarqetaError {
  // Time left before the breaker lets a probe through; 0 while a probe is in flight.
  readonly retry_in_ms: number;

  constructor(call: MarqetaCallInfo, retry_in_ms: number) {
    super(
      marqeta_error_codes.circuit_open,
      `Marqeta circuit open: ${call.method} ${call.path} not sent`,
      call,
    );
    this.name = 'MarqetaCircuitOpenError';
    this.retry_in_ms = retry_in_ms;
  }
}

// A success status whose body is not JSON, too large, or does not fit the schema. `issues` name
// paths and rules only, never values (a value could be a PAN).
export class MarqetaInvalidResponseError extends MarqetaError {
  readonly status: number;
  readonly issues: readonly string[];

  constructor(call: MarqetaCallInfo, status: number, issues: readonly string[], options?: ErrorOptions) {
    super(
      marqeta_error_codes.invalid_response,
      `Marqeta's answer to ${call.method} ${call.path} (${status}) is unusable: ${issues.join('; ')}`,
      call,
      options,
    );
    this.name = 'MarqetaInvalidResponseError';
    this.status = status;
    this.issues = issues;
  }
}

export function isMarqetaError(error: unknown, code?: MarqetaErrorCode): error is MarqetaError {
  return error instanceof MarqetaError && (code === undefined || error.code === code);
}
