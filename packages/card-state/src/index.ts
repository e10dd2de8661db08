export {
  type CardRecord,
  type RecordSources,
  readCardholderRecord,
  readCardRecord,
} from './data-of-record/read-card-record.ts';
export { refreshCardRecord } from './data-of-record/refresh-card-record.ts';
export { writeCardRecord } from './data-of-record/write-card-record.ts';
export {
  CardStateCorruptError,
  CardStateError,
  type CardStateErrorCode,
  CardStateInvalidError,
  CardStateInvariantError,
  CardStateReplyError,
  card_state_error_codes,
} from './errors.ts';
export {
  closed_hold_ttl_s,
  defineHoldScripts,
  type ExpiryResult,
  expiry_marker_ttl_s,
  type HoldScripts,
} from './hold-expiry.ts';
export { type CardStateKeys, cardStateKeys, type UserStateKeys, userStateKeys } from './keys.ts';
export {
  type ApplyRequest,
  type DecideRequest,
  type MessageFields,
  type ReleaseMemo,
  type ReleaseRequest,
  type RestoreRequest,
  release_memos,
} from './requests.ts';
export {
  type ApplyNote,
  type CardStateDeclineMemo,
  type CardStateStoredDecision,
  card_state_decline_memos,
  event_types,
  type InformativeKind,
  informative_kinds,
  OutboxEvent,
  type OutboxEventType,
  outbox_event_prefix,
  service_decline_memos,
  type VersionedCardholder,
  type VersionedControls,
} from './schemas.ts';
export type {
  ApplyResult,
  CreditOutcome,
  DecideResult,
  MissingPiece,
  ReleaseResult,
  RestoreResult,
} from './scripts.ts';
export {
  type BalanceCredit,
  type CardStateOptions,
  type CardStateStore,
  createCardState,
  default_decision_ttl_s,
  type WriteResult,
} from './store.ts';
export type { DecisionRecord, StoredState } from './stored.ts';
