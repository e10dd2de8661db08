// One small set of coded errors, matched by `code`, never by message.
export const sim_error_codes = {
  bad_request: 'AFC_SIM_BAD_REQUEST',
  unauthorized: 'AFC_SIM_UNAUTHORIZED',
  not_found: 'AFC_SIM_NOT_FOUND',
  conflict: 'AFC_SIM_CONFLICT',
  injected_fault: 'AFC_SIM_INJECTED_FAULT',
  webhook_queue_full: 'AFC_SIM_WEBHOOK_QUEUE_FULL',
  webhook_delivery_failed: 'AFC_SIM_WEBHOOK_DELIVERY_FAILED',
  idle_timeout: 'AFC_SIM_IDLE_TIMEOUT',
  internal: 'AFC_SIM_INTERNAL',
} as const;
export type SimErrorCode = (typeof sim_error_codes)[keyof typeof sim_error_codes];

export class MarqetaSimError extends Error {
  readonly code: SimErrorCode;

  constructor(code: SimErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MarqetaSimError';
    this.code = code;
  }
}

// Marqeta's error codes are the HTTP status followed by three digits. The real ones vary per
// endpoint and are not all published: these are representative, one per kind of failure.
export const marqeta_error_codes = {
  invalid_request: '400020',
  illegal_transition: '400121',
  unauthorized: '401001',
  not_found: '404001',
  conflict: '409001',
  payload_too_large: '413001',
  rate_limited: '429001',
  server_error: '500001',
} as const;

// A failure the simulated Marqeta answers over HTTP, with Marqeta's error body.
export class MarqetaApiError extends MarqetaSimError {
  readonly status_code: number;
  readonly error_code: string;

  constructor(code: SimErrorCode, status_code: number, error_code: string, message: string) {
    super(code, message);
    this.name = 'MarqetaApiError';
    this.status_code = status_code;
    this.error_code = error_code;
  }

  body(): { error_message: string; error_code: string } {
    return { error_message: this.message, error_code: this.error_code };
  }
}

export function badRequest(message: string, error_code: string = marqeta_error_codes.invalid_request) {
  return new MarqetaApiError(sim_error_codes.bad_request, 400, error_code, message);
}

export function notFound(what: string, token: string): MarqetaApiError {
  return new MarqetaApiError(
    sim_error_codes.not_found,
    404,
    marqeta_error_codes.not_found,
    `${what} not found: ${token}`,
  );
}

export function tokenConflict(what: string, token: string): MarqetaApiError {
  return new MarqetaApiError(
    sim_error_codes.conflict,
    409,
    marqeta_error_codes.conflict,
    `${what} token ${token} already exists with different content`,
  );
}

export function unauthorized(): MarqetaApiError {
  return new MarqetaApiError(
    sim_error_codes.unauthorized,
    401,
    marqeta_error_codes.unauthorized,
    'Invalid application token or admin access token',
  );
}
