import type { LedgerRowFields, PersonalStore } from '@afc/personal-store';
import type { RecordOutcome } from './business-ledger.ts';
import { type Contribution, type DerivedRow, deriveRow } from './ledger.ts';
import type { LedgerInput } from './ledger-input.ts';

// The personal row as the store keeps it, from the same derivation as a business row.
function rowFields(d: DerivedRow, hold_expiry_ms: number): LedgerRowFields {
  const p = d.primary;
  return {
    state: d.state,
    requested_minor: d.requested_minor,
    authorized_minor: d.authorized_minor,
    cleared_minor: d.cleared_minor,
    reversed_minor: d.reversed_minor,
    refunded_minor: d.refunded_minor,
    decline_reason: d.decline_reason,
    memo: d.memo,
    method: p.method,
    network: p.network,
    marqeta_transaction_token: p.transaction_token,
    original_jit_token: p.type === 'authorization.declined' ? p.original_jit_token : null,
    merchant: {
      mid: p.merchant.mid,
      name: p.merchant.name ?? null,
      mcc: p.merchant.mcc,
      city: null,
      country_code: p.merchant.country,
    },
    created_at: new Date(d.created_at_ms),
    expires_at: new Date(d.created_at_ms + hold_expiry_ms),
  };
}

// One event on the personal ledger, as recordBusinessEvent does it for business cards: the store
// records the event once (its id is the replay guard), re-derives the row from the set of its
// events' contributions, and moves the wallet by the event's balance delta, atomically.
export async function recordPersonalEvent(
  store: PersonalStore,
  input: LedgerInput,
  hold_expiry_ms: number,
): Promise<RecordOutcome> {
  const c = input.contribution;
  const result = await store.recordLedgerEvent(
    {
      event_id: input.event_id,
      jit_token: input.ledger_token,
      card_token: input.card_token,
      user_token: input.user_token,
      currency: input.currency,
      occurred_at: new Date(input.occurred_at_ms),
      kind: input.kind,
      amount_minor: input.amount_minor,
      authorized_minor: c.authorized_minor,
      cleared_minor: c.cleared_minor,
      reversed_minor: c.released_minor,
      refunded_minor: c.refunded_minor,
      details: JSON.parse(JSON.stringify(c)) as Record<string, unknown>,
      balance_delta: input.balance_delta,
    },
    (entries) =>
      rowFields(
        deriveRow(
          entries.map((e) => ({ event_id: e.event_id, contribution: e.details as unknown as Contribution })),
        ),
        hold_expiry_ms,
      ),
  );
  return result.outcome;
}
