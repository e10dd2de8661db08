export { base_path, buildMarqetaSim, type MarqetaSim, type WaitOptions } from './build-marqeta-sim.ts';
export type {
  AuthorizationRequest,
  BalanceInquiryRequest,
  CardActivity,
  FollowUpRequest,
  RefundRequest,
} from './card-activity.ts';
export { fakePan, luhnCheckDigit } from './card-factory.ts';
export {
  MarqetaApiError,
  MarqetaSimError,
  marqeta_error_codes,
  type SimErrorCode,
  sim_error_codes,
} from './errors.ts';
export { response_codes } from './jit-decision.ts';
export { type Merchant, merchants } from './merchants.ts';
export { type ActivityKind, activity_methods } from './message.ts';
export { type MarqetaSimOptions, no_faults, type SimFaults, webhook_batch_size } from './options.ts';
export type {
  CardObject,
  CardState,
  DeliveryAttempt,
  DeliveryRecord,
  GatewayLog,
  GatewayLogEntry,
  SignatureAlgorithm,
  SimErrorReport,
  SimState,
  TransactionRecord,
} from './state.ts';
export { body_keys, type EventKind, matchesSubscription } from './webhook-dispatcher.ts';
export { signature_header, signBody } from './webhook-signing.ts';
