import type { ClientSession, Document } from 'mongodb';
import { assertSameTransactionOwner, latestOf } from '../common.ts';
import { PersonalNotFoundError } from '../errors.ts';
import type { LedgerDerive, LedgerEntry, LedgerEventInput, RecordLedgerEventResult } from '../types.ts';
import type { HistoryDoc, PersonalCollections, TransactionDoc } from './collections.ts';
import { transactionFromDoc } from './convert.ts';

// One multi-document transaction per event: the transaction document (its history holds each
// event's details, and the unique history.event_id index is the replay guard) and the wallet.
// Two events of one jit_token conflict on the document and the later one runs again (the
// caller's inTransaction), now deriving from both: the row is always derive(all events).

// The pipeline's $set reads the document as it was, so each pair is computed from the same old
// values: available - shortfall is the signed balance, split again into its two parts.
export function shortfallPipeline(delta_available: number, delta_held: number, at: Date): Document[] {
  const signed = (field: string, shortfall: string, delta: number) => ({
    $add: [`$${field}`, { $multiply: [-1, { $ifNull: [`$${shortfall}`, 0] }] }, delta],
  });
  const available = signed('available_minor', 'available_shortfall_minor', delta_available);
  const held = signed('held_minor', 'held_shortfall_minor', delta_held);
  return [
    {
      $set: {
        available_minor: { $max: [0, available] },
        available_shortfall_minor: { $max: [0, { $multiply: [-1, available] }] },
        held_minor: { $max: [0, held] },
        held_shortfall_minor: { $max: [0, { $multiply: [-1, held] }] },
        version: { $add: ['$version', 1] },
        updated_at: { $literal: at },
      },
    },
  ];
}

export async function moveWalletIn(
  c: PersonalCollections,
  session: ClientSession,
  user_token: string,
  currency: string,
  delta: { readonly available_minor: number; readonly held_minor: number },
  at: Date,
): Promise<void> {
  if (delta.available_minor === 0 && delta.held_minor === 0) return;
  const moved = await c.wallets.updateOne(
    { user_token, currency },
    shortfallPipeline(delta.available_minor, delta.held_minor, at),
    { session },
  );
  if (moved.matchedCount === 0)
    throw new PersonalNotFoundError(`no ${currency} wallet for user ${user_token}`);
}

export async function recordLedgerEventIn(
  c: PersonalCollections,
  session: ClientSession,
  at: Date,
  input: LedgerEventInput,
  derive: LedgerDerive,
): Promise<RecordLedgerEventResult> {
  const seen = await c.transactions.findOne({ 'history.event_id': input.event_id }, { session });
  if (seen !== null) {
    const transaction = transactionFromDoc(seen);
    assertSameTransactionOwner(transaction, input);
    return { outcome: 'duplicate', transaction };
  }
  const existing = await c.transactions.findOne({ jit_token: input.jit_token }, { session });
  if (existing !== null) assertSameTransactionOwner(existing, input);
  const stored: LedgerEntry[] = [];
  for (const entry of existing?.history ?? []) {
    if (entry.details !== undefined) stored.push({ event_id: entry.event_id, details: entry.details });
  }
  const entries = [...stored, { event_id: input.event_id, details: input.details }];
  const d = derive(entries);
  const entry: HistoryDoc = {
    event_id: input.event_id,
    state: d.state,
    occurred_at: input.occurred_at,
    authorized_minor: input.authorized_minor,
    cleared_minor: input.cleared_minor,
    reversed_minor: input.reversed_minor,
    refunded_minor: input.refunded_minor,
    recorded_at: at,
    kind: input.kind,
    amount_minor: input.amount_minor,
    details: JSON.parse(JSON.stringify(input.details)) as Record<string, unknown>,
  };
  const fields: Omit<TransactionDoc, 'history'> = {
    jit_token: input.jit_token,
    card_token: input.card_token,
    user_token: input.user_token,
    currency: existing?.currency ?? input.currency,
    state: d.state,
    state_at: latestOf(entries, input),
    authorized_minor: d.authorized_minor,
    cleared_minor: d.cleared_minor,
    reversed_minor: d.reversed_minor,
    refunded_minor: d.refunded_minor,
    requested_minor: d.requested_minor,
    decline_reason: d.decline_reason,
    memo: d.memo,
    method: d.method,
    network: d.network,
    marqeta_transaction_token: d.marqeta_transaction_token,
    original_jit_token: d.original_jit_token,
    expires_at: d.expires_at,
    merchant: d.merchant,
    created_at: d.created_at,
    updated_at: at,
  };
  const after = await c.transactions.findOneAndUpdate(
    { jit_token: input.jit_token },
    { $set: fields, $push: { history: entry } },
    { session, upsert: true, returnDocument: 'after' },
  );
  if (after === null) throw new PersonalNotFoundError(`transaction ${input.jit_token} after upsert`);
  await moveWalletIn(c, session, input.user_token, input.currency, input.balance_delta, at);
  return { outcome: 'applied', transaction: transactionFromDoc(after) };
}
