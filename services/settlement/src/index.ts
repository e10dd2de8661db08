export { type SettlementOptions, settlementApp } from './app.ts';
export { type BuildOverrides, buildSettlement } from './build-settlement.ts';
export { type RecordOutcome, recordBusinessEvent } from './business-ledger.ts';
export {
  listParkedMessages,
  type ParkedListing,
  type ReplayOutcome,
  type ReplaySelection,
  replayParkedMessages,
} from './commands/parked.ts';
export { SettlementError, type SettlementErrorCode, settlement_error_codes } from './errors.ts';
export {
  createEventHandler,
  type EventOutcome,
  type HandlerDependencies,
  type LedgerDependencies,
  recordLedgerInput,
} from './handle-event.ts';
export {
  type Contribution,
  contributionOf,
  type DerivedRow,
  deriveRow,
  effectiveOf,
  ledgerToken,
} from './ledger.ts';
export {
  type ExpiryFacts,
  type ExpiryMovement,
  expiryInput,
  inputOfEvent,
  inputOfWebhook,
  type LedgerInput,
  type Program,
} from './ledger-input.ts';
export { recordPersonalEvent } from './personal-ledger.ts';
export { parseTransactionWebhook, type WebhookFacts } from './webhook-transaction.ts';
