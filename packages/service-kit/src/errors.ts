export const service_kit_error_codes = {
  readiness_check_timeout: 'AFC_SERVICE_READINESS_CHECK_TIMEOUT',
  shutdown_timeout: 'AFC_SERVICE_SHUTDOWN_TIMEOUT',
} as const;

export type ServiceKitErrorCode = (typeof service_kit_error_codes)[keyof typeof service_kit_error_codes];

// Matched by `code`, never by message.
export class ServiceKitError extends Error {
  readonly code: ServiceKitErrorCode;

  constructor(code: ServiceKitErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ServiceKitError';
    this.code = code;
  }
}

export class ReadinessCheckTimeoutError extends ServiceKitError {
  constructor(check_name: string, check_timeout_ms: number) {
    super(
      service_kit_error_codes.readiness_check_timeout,
      `readiness check ${check_name} did not settle within ${check_timeout_ms} ms`,
    );
    this.name = 'ReadinessCheckTimeoutError';
  }
}

export class ShutdownTimeoutError extends ServiceKitError {
  constructor(shutdown_timeout_ms: number) {
    super(
      service_kit_error_codes.shutdown_timeout,
      `shutdown did not finish within ${shutdown_timeout_ms} ms`,
    );
    this.name = 'ShutdownTimeoutError';
  }
}
