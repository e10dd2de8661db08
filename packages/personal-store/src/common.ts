import { PersonalConflictError, PersonalInvalidInputError } from './errors.ts';
import type {
  CreditDepositInput,
  LedgerEntry,
  LedgerEventInput,
  Merchant,
  PingResult,
  TransactionEventInput,
  WalletDeposit,
} from './types.ts';

// What both backends share beyond validation: how a repeat is recognised, how an event's
// optional fields default, and how a ping is bounded.

export function merchantOf(input: TransactionEventInput): Merchant {
  const merchant = input.merchant ?? {};
  return {
    mid: merchant.mid ?? null,
    name: merchant.name ?? null,
    mcc: merchant.mcc ?? null,
    city: merchant.city ?? null,
    country_code: merchant.country_code ?? null,
  };
}

export function eventAmounts(input: TransactionEventInput) {
  return {
    authorized_minor: input.authorized_minor ?? 0,
    cleared_minor: input.cleared_minor ?? 0,
    reversed_minor: input.reversed_minor ?? 0,
    refunded_minor: input.refunded_minor ?? 0,
  };
}

// A repeated deposit_id must carry the same deposit: a different one under a used id is a
// caller bug that must not be answered with someone else's outcome.
export function assertSameDeposit(stored: WalletDeposit, input: CreditDepositInput): void {
  const same =
    stored.user_token === input.user_token &&
    stored.crypto_currency === input.crypto_currency &&
    stored.crypto_amount === input.crypto_amount &&
    stored.rate === input.rate &&
    stored.credited_minor === input.credited_minor &&
    stored.currency === input.currency;
  if (!same) throw new PersonalConflictError(`deposit ${input.deposit_id} was recorded with other content`);
}

export function assertSameTransactionOwner(
  stored: { readonly jit_token: string; readonly card_token: string; readonly user_token: string },
  input: Pick<TransactionEventInput, 'event_id' | 'jit_token' | 'card_token' | 'user_token'>,
): void {
  if (
    stored.jit_token !== input.jit_token ||
    stored.card_token !== input.card_token ||
    stored.user_token !== input.user_token
  ) {
    throw new PersonalConflictError(`event ${input.event_id} belongs to another transaction, card or user`);
  }
}

// Bounded: a health check must answer even when the backend hangs. The probe is left to
// finish or fail on its own; only the answer is bounded.
export async function timedPing(probe: () => Promise<unknown>, timeout_ms: number): Promise<PingResult> {
  if (!Number.isInteger(timeout_ms) || timeout_ms < 1) {
    throw new PersonalInvalidInputError('timeout_ms must be a positive integer');
  }
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<PingResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, reason: `no answer within ${timeout_ms} ms` }), timeout_ms);
  });
  const answer = probe().then(
    (): PingResult => ({ ok: true, latency_ms: Math.round(performance.now() - started) }),
    (error: unknown): PingResult => ({
      ok: false,
      reason: error instanceof Error ? error.message : String(error),
    }),
  );
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// A ledger row's state_at: when the latest of its events occurred (a function of the set, so
// the same whatever order the events arrived in).
export function latestOf(entries: readonly LedgerEntry[], input: LedgerEventInput): Date {
  let latest = input.occurred_at.getTime();
  for (const entry of entries) {
    const at = entry.details.occurred_at_ms;
    if (typeof at === 'number' && at > latest) latest = at;
  }
  return new Date(latest);
}
