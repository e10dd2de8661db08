// One small set of coded errors, matched by `code`, never by message (like undici's).
export const amqp_error_codes = {
  unroutable: 'AFC_AMQP_UNROUTABLE',
  publish_timeout: 'AFC_AMQP_PUBLISH_TIMEOUT',
  nacked: 'AFC_AMQP_NACKED',
  closed: 'AFC_AMQP_CLOSED',
  not_connected: 'AFC_AMQP_NOT_CONNECTED',
  timeout: 'AFC_AMQP_TIMEOUT',
} as const;

export type AmqpErrorCode = (typeof amqp_error_codes)[keyof typeof amqp_error_codes];

export class AmqpError extends Error {
  readonly code: AmqpErrorCode;

  constructor(code: AmqpErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AmqpError';
    this.code = code;
  }
}

// The broker returned a mandatory message (no queue bound), or the exchange is not in the topology.
export class UnroutableError extends AmqpError {
  constructor(message: string) {
    super(amqp_error_codes.unroutable, message);
    this.name = 'UnroutableError';
  }
}

export class PublishTimeoutError extends AmqpError {
  constructor(message: string) {
    super(amqp_error_codes.publish_timeout, message);
    this.name = 'PublishTimeoutError';
  }
}

export class NackedError extends AmqpError {
  constructor(message: string) {
    super(amqp_error_codes.nacked, message);
    this.name = 'NackedError';
  }
}

// The channel or connection closed before the broker answered, or the client is closing: the
// outcome is unknown, so the caller must retry with the same message_id.
export class ClosedError extends AmqpError {
  constructor(message: string, options?: ErrorOptions) {
    super(amqp_error_codes.closed, message, options);
    this.name = 'ClosedError';
  }
}

export class NotConnectedError extends AmqpError {
  constructor(message: string) {
    super(amqp_error_codes.not_connected, message);
    this.name = 'NotConnectedError';
  }
}

// A broker operation other than a publish (reading a backlog, listing parked messages) took
// longer than its budget.
export class OperationTimeoutError extends AmqpError {
  constructor(message: string) {
    super(amqp_error_codes.timeout, message);
    this.name = 'OperationTimeoutError';
  }
}

export function isAmqpError(error: unknown, code?: AmqpErrorCode): error is AmqpError {
  return error instanceof AmqpError && (code === undefined || error.code === code);
}
