import { type CardStateStore, readCardRecord, writeCardRecord } from '@afc/card-state';
import type { LedgerDependencies } from './handle-event.ts';
import type { Program } from './ledger-input.ts';
import { onLedger } from './on-ledger.ts';
import type { WebhookFacts } from './webhook-transaction.ts';

export interface LoadDependencies extends LedgerDependencies {
  readonly card_state: CardStateStore;
}

// The authorizer's events for the approvals a release of this message gives back, as the
// ledger files them: the message's own and, for an incremental, its authorization's (one hold
// holds both), all on the authorization's row.
function approvalsOf(facts: WebhookFacts): { row: string; event_ids: string[] } {
  const type = facts.kind === 'incremental' ? 'authorization.incremental' : 'authorization.approved';
  const own = `${facts.jit_token}:${type}`;
  const original = facts.original_jit_token;
  if (original === null) return { row: facts.jit_token, event_ids: [own] };
  return { row: original, event_ids: [`${original}:authorization.approved`, own] };
}

export type LoadOutcome = 'loaded' | 'approval_not_recorded' | 'card_not_found';

// releaseAfterTimeout answered `missing`: Redis holds our approval but not the card's counters
// (or a personal wallet) it must give the approval back to. Loaded as the authorizer's loader
// loads them (readCardRecord + writeCardRecord: counters and wallet only where Redis has none,
// so live counting is never overwritten), from the data of record, which must already count
// the approvals the release gives back: read without them, the release would take them off
// totals that never had them, and a personal wallet would show the amount available twice once
// the approval's event is recorded. That event is on its way (the script that stored the
// approval emitted it), so until the ledger has it the caller fails the delivery (retried).
// card_not_found: not in the data of record, or another cardholder's (the release reads the
// keys of the webhook's user, which the owner's record does not fill).
export async function loadForRelease(
  deps: LoadDependencies,
  facts: WebhookFacts,
  program: Program,
): Promise<LoadOutcome> {
  const { row, event_ids } = approvalsOf(facts);
  if (!(await onLedger(deps, program, row, event_ids))) return 'approval_not_recorded';
  return loadCard(deps, facts);
}

// The card as the authorizer's loader loads it, where Redis has none of it.
export async function loadCard(
  deps: LoadDependencies,
  facts: WebhookFacts,
): Promise<Exclude<LoadOutcome, 'approval_not_recorded'>> {
  const sources = { sql: deps.postgres.sql, personal_store: deps.personal_store };
  const record = await readCardRecord(sources, facts.card_token, Date.now());
  if (record === undefined || record.card.user_token !== facts.user_token) return 'card_not_found';
  await writeCardRecord(deps.card_state, record);
  return 'loaded';
}
