export { buildJitRequest, type JitRequestOptions } from './build-jit-request.ts';
export {
  type Admission,
  type CallOutcome,
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitState,
  type CircuitStateChange,
} from './client/circuit-breaker.ts';
export {
  isMarqetaError,
  type MarqetaCallInfo,
  MarqetaCircuitOpenError,
  MarqetaError,
  type MarqetaErrorCode,
  MarqetaHttpError,
  MarqetaInvalidResponseError,
  MarqetaNetworkError,
  MarqetaTimeoutError,
  marqeta_error_codes,
} from './client/errors.ts';
export { MarqetaClient } from './client/marqeta-client.ts';
export {
  default_breaker,
  default_retry,
  type MarqetaClientOptions,
  type MarqetaClock,
  system_clock,
} from './client/options.ts';
export { type Jitter, parseRetryAfterMs, type RetryOptions, retryDelayMs } from './client/retry.ts';
export {
  Card,
  CardProduct,
  CardState,
  CardTransition,
  Channel,
  CreateCardProductRequest,
  CreateCardRequest,
  CreateCardTransitionRequest,
  CreateProgramGatewayFundingSourceRequest,
  CreateUserRequest,
  CreateUserTransitionRequest,
  CreateWebhookRequest,
  ProgramGatewayFundingSource,
  UpdateUserRequest,
  User,
  UserStatus,
  UserTransition,
  Webhook,
} from './client/schemas.ts';
export {
  CountryCode,
  CurrencyCode,
  MarqetaAmount,
  MarqetaToken,
  Mcc,
  token_pattern,
} from './schemas/common.ts';
export {
  CardAcceptor,
  type DeclineReason,
  decline_reasons,
  type JitFundingPart,
  JitFundingRequest,
  JitFundingRequestPart,
  JitFundingResponse,
  jitFundingOf,
} from './schemas/jit.ts';
