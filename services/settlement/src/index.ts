export { type SettlementOptions, settlementApp } from './app.ts';
export { type BuildOverrides, buildSettlement } from './build-settlement.ts';
export { type RecordOutcome, recordBusinessEvent } from './business-ledger.ts';
export { SettlementError, type SettlementErrorCode, settlement_error_codes } from './errors.ts';
export { type Contribution, contributionOf, type DerivedRow, deriveRow, ledgerToken } from './ledger.ts';
