import assert from 'node:assert/strict';
import { addCounted, assertHold, canCountIn, countedIn, holdDelta, no_balance_change } from './holds.ts';
import { type DeclineMemo, type DeclineReason, declineReasonOf } from './reasons.ts';
import type {
  Balance,
  BalanceDelta,
  Cardholder,
  CardState,
  CounterDelta,
  Hold,
  SpendingControls,
  WindowCounters,
  WindowStarts,
} from './types.ts';
import { currentCounters, isExpired } from './windows.ts';

export const decision_kinds = [
  'authorization',
  'incremental',
  'account_verification',
  'balance_inquiry',
] as const;
export type DecisionKind = (typeof decision_kinds)[number];

// Larger than any card purchase (ten billion in a two-decimal currency), small enough that sums
// of counters stay exact integers in JavaScript and in Lua's doubles.
export const max_amount_minor = 1_000_000_000_000;

export const balance_memos = ['wallet_balance', 'remaining_allowance', 'unlimited'] as const;
export type BalanceMemo = (typeof balance_memos)[number];

export interface DecisionInput {
  readonly kind: DecisionKind;
  readonly jit_token: string;
  readonly amount_minor: number;
  readonly currency: string;
  readonly mcc: string;
  readonly mid: string;
  readonly merchant_country: string;
  readonly now_ms: number;
  readonly card?: CardState;
  readonly cardholder?: Cardholder;
  readonly controls?: SpendingControls;
  // As stored; windows that have closed count from zero. Absent: all zero.
  readonly counters?: WindowCounters;
  // The cardholder's wallet (personal cards).
  readonly balance?: Balance;
  // The hold named by original_jit_funding_token (incremental).
  readonly original_hold?: Hold;
  // The decision stored under this jit_token, if Marqeta already asked.
  readonly replay?: StoredDecision;
  // The service's decision deadline had passed when the rules ran (the script compares the
  // Redis clock with deadline_at_ms). Marqeta was already answered with a timeout decline.
  readonly deadline_passed?: boolean;
  // A hold already exists under this jit_token (authorization): Marqeta stood in and an advice
  // created it before this decide ran.
  readonly hold_exists?: boolean;
  // From the method table: a hold that must be captured, not released, when it expires.
  readonly single_message?: boolean;
}

export type StoredDecision = {
  readonly jit_token: string;
  readonly kind: DecisionKind;
  readonly amount_minor: number;
} & (
  | { readonly outcome: 'approve' }
  | { readonly outcome: 'decline'; readonly decline_reason: DeclineReason; readonly memo: DeclineMemo }
  | {
      readonly outcome: 'balance';
      readonly available_minor: number;
      readonly ledger_minor: number;
      readonly memo: BalanceMemo;
    }
);

export type Decision =
  | {
      readonly outcome: 'approve';
      // The new hold, or the original hold grown by an incremental; null for account verification.
      readonly hold: Hold | null;
      readonly counter_deltas: readonly CounterDelta[];
      readonly balance_delta: BalanceDelta;
    }
  | { readonly outcome: 'decline'; readonly decline_reason: DeclineReason; readonly memo: DeclineMemo }
  | {
      readonly outcome: 'balance';
      readonly available_minor: number;
      readonly ledger_minor: number;
      readonly memo: BalanceMemo;
    }
  | { readonly outcome: 'replay'; readonly stored: StoredDecision };

interface Context {
  readonly kind: DecisionKind;
  readonly amount: number;
  readonly currency: string;
  readonly mcc: string;
  readonly mid: string;
  readonly country: string;
  readonly card: CardState;
  readonly controls: SpendingControls;
  readonly counters: WindowCounters;
  readonly starts: WindowStarts;
  readonly balance: Balance | undefined;
  readonly original: Hold | undefined;
}

interface Rule {
  readonly memo: DeclineMemo;
  readonly kinds: readonly DecisionKind[];
  readonly fails: (c: Context) => boolean;
}

const no_controls: SpendingControls = {
  mcc_allow: [],
  mcc_block: [],
  blocked_merchant_ids: [],
  blocked_countries: [],
};
const money: readonly DecisionKind[] = ['authorization', 'incremental'];
const purchase: readonly DecisionKind[] = ['authorization'];

function validAmount(amount: number): boolean {
  return Number.isSafeInteger(amount) && amount >= 0 && amount <= max_amount_minor;
}

function over(limit: number | undefined, used: number, adding: number): boolean {
  return limit !== undefined && used + adding > limit;
}

// An incremental grows one purchase: the per-transaction limit applies to the whole of it.
function purchaseSoFar(c: Context): number {
  return c.original === undefined ? 0 : c.original.amount_minor + c.original.captured_minor;
}

function personal(c: Context): boolean {
  return c.card.program === 'personal';
}

// After the identity rules (card found, active, not expired; cardholder found, active), in order.
// An incremental checks and holds only the increment and never counts toward count limits.
export const rules: readonly Rule[] = [
  { memo: 'amount_invalid', kinds: decision_kinds, fails: (c) => !validAmount(c.amount) },
  { memo: 'amount_zero', kinds: money, fails: (c) => c.amount === 0 },
  { memo: 'verification_amount_not_zero', kinds: ['account_verification'], fails: (c) => c.amount !== 0 },
  {
    memo: 'original_not_found',
    kinds: ['incremental'],
    // Nothing ever authorized into it: a hold only an early reversal left, no authorization.
    fails: (c) =>
      c.original === undefined ||
      c.original.card_token !== c.card.card_token ||
      c.original.authorized_minor === 0,
  },
  {
    memo: 'too_many_increments',
    kinds: ['incremental'],
    fails: (c) => !canCountIn(c.original?.counted ?? [], c.starts),
  },
  { memo: 'currency_mismatch', kinds: money, fails: (c) => c.currency !== c.card.currency },
  { memo: 'mcc_blocked', kinds: money, fails: (c) => c.controls.mcc_block.includes(c.mcc) },
  {
    memo: 'mcc_not_allowed',
    kinds: money,
    fails: (c) => c.controls.mcc_allow.length > 0 && !c.controls.mcc_allow.includes(c.mcc),
  },
  { memo: 'merchant_blocked', kinds: money, fails: (c) => c.controls.blocked_merchant_ids.includes(c.mid) },
  { memo: 'country_blocked', kinds: money, fails: (c) => c.controls.blocked_countries.includes(c.country) },
  {
    memo: 'per_transaction_limit',
    kinds: money,
    fails: (c) => over(c.controls.per_transaction_limit_minor, purchaseSoFar(c), c.amount),
  },
  {
    memo: 'daily_amount_limit',
    kinds: money,
    fails: (c) => over(c.controls.daily_limit_minor, c.counters.day.amount_minor, c.amount),
  },
  {
    memo: 'weekly_amount_limit',
    kinds: money,
    fails: (c) => over(c.controls.weekly_limit_minor, c.counters.week.amount_minor, c.amount),
  },
  {
    memo: 'monthly_amount_limit',
    kinds: money,
    fails: (c) => over(c.controls.monthly_limit_minor, c.counters.month.amount_minor, c.amount),
  },
  {
    memo: 'daily_count_limit',
    kinds: purchase,
    fails: (c) => over(c.controls.daily_count_limit, c.counters.day.count, 1),
  },
  {
    memo: 'weekly_count_limit',
    kinds: purchase,
    fails: (c) => over(c.controls.weekly_count_limit, c.counters.week.count, 1),
  },
  {
    memo: 'monthly_count_limit',
    kinds: purchase,
    fails: (c) => over(c.controls.monthly_count_limit, c.counters.month.count, 1),
  },
  {
    memo: 'balance_not_found',
    kinds: [...money, 'balance_inquiry'],
    fails: (c) => personal(c) && c.balance === undefined,
  },
  {
    memo: 'insufficient_funds',
    kinds: money,
    fails: (c) => personal(c) && (c.balance?.available_minor ?? 0) < c.amount,
  },
];

// The whole order, identity rules first: the Lua script and the tests follow this list.
export const rule_order: readonly DeclineMemo[] = [
  'replay_mismatch',
  'timeout',
  'card_not_found',
  'card_not_active',
  'card_expired',
  'cardholder_not_found',
  'cardholder_not_active',
  ...rules.map((rule) => rule.memo),
];

function decline(memo: DeclineMemo): Decision {
  return { outcome: 'decline', decline_reason: declineReasonOf(memo), memo };
}

function identityFailure(input: DecisionInput): DeclineMemo | undefined {
  const { card, cardholder } = input;
  if (card === undefined) return 'card_not_found';
  if (card.state !== 'active') return 'card_not_active';
  if (isExpired(card.expiration_year, card.expiration_month, input.now_ms)) return 'card_expired';
  if (cardholder === undefined) return 'cardholder_not_found';
  if (cardholder.status !== 'active') return 'cardholder_not_active';
  return undefined;
}

function assertControls(controls: SpendingControls): void {
  const limits = [
    controls.per_transaction_limit_minor,
    controls.daily_limit_minor,
    controls.weekly_limit_minor,
    controls.monthly_limit_minor,
    controls.daily_count_limit,
    controls.weekly_count_limit,
    controls.monthly_count_limit,
  ];
  for (const limit of limits) {
    assert.ok(
      limit === undefined || (Number.isSafeInteger(limit) && limit >= 0),
      'limits are natural numbers',
    );
  }
}

function contextOf(input: DecisionInput, card: CardState): Context {
  const controls = input.controls ?? no_controls;
  assertControls(controls);
  const counters = currentCounters(input.counters, input.now_ms);
  return {
    kind: input.kind,
    amount: input.amount_minor,
    currency: input.currency,
    mcc: input.mcc,
    mid: input.mid,
    country: input.merchant_country,
    card,
    controls,
    counters,
    starts: { day: counters.day.start, week: counters.week.start, month: counters.month.start },
    balance: input.balance,
    original: input.kind === 'incremental' ? input.original_hold : undefined,
  };
}

// Rules in order (rule_order); declines are values, the first failing rule names the reason.
export function decideAuthorization(input: DecisionInput): Decision {
  if (input.replay !== undefined) {
    assert.equal(input.replay.jit_token, input.jit_token, 'replay looked up by jit_token');
    const same = input.replay.kind === input.kind && input.replay.amount_minor === input.amount_minor;
    // The same token with another amount is not a retry: approving it would echo an amount we never held.
    return same ? { outcome: 'replay', stored: input.replay } : decline('replay_mismatch');
  }
  // Late: the service has answered Marqeta with a timeout decline, so this run must store that
  // same decline (what release-after-timeout would store) and hold nothing. After the replay
  // rule: a replay of an earlier answer still answers it. No grace: a late decline is always safe.
  if (input.deadline_passed === true) return decline('timeout');
  // Marqeta already approved this authorization by stand-in, and the advice holds and counts it.
  // Approving again would overwrite that hold and count the purchase twice; declining would
  // contradict what already happened. So: answer approve as a replay of Marqeta's own decision,
  // change nothing and store nothing (a timeout release then finds no approval of ours to undo,
  // and cannot release the stand-in's hold).
  if (input.kind === 'authorization' && input.hold_exists === true) {
    const stored: StoredDecision = {
      jit_token: input.jit_token,
      kind: input.kind,
      amount_minor: input.amount_minor,
      outcome: 'approve',
    };
    return { outcome: 'replay', stored };
  }
  const identity = identityFailure(input);
  if (identity !== undefined || input.card === undefined) return decline(identity ?? 'card_not_found');
  assert.ok(input.cardholder?.user_token === input.card.user_token, 'cardholder loaded for the card');
  assert.ok(input.cardholder.program === input.card.program, 'card and cardholder in one program');
  const c = contextOf(input, input.card);
  for (const rule of rules) {
    if (rule.kinds.includes(c.kind) && rule.fails(c)) return decline(rule.memo);
  }
  if (c.kind === 'balance_inquiry') return balanceAnswer(c);
  if (c.kind === 'account_verification') {
    return { outcome: 'approve', hold: null, counter_deltas: [], balance_delta: no_balance_change };
  }
  return approve(input, c);
}

function approve(input: DecisionInput, c: Context): Decision {
  const base: Hold = c.original ?? {
    jit_token: input.jit_token,
    card_token: c.card.card_token,
    user_token: c.card.user_token,
    program: c.card.program,
    amount_minor: 0,
    authorized_minor: 0,
    released_minor: 0,
    captured_minor: 0,
    on_expiry: input.single_message === true ? 'capture' : 'release',
    counted: [],
  };
  // Counted in today's windows, also for an incremental: that is when the cardholder spends the
  // increment, and today's limits are the ones it must fit in. The hold remembers which windows.
  const entry = countedIn(c.starts, c.amount, c.kind === 'authorization' ? 1 : 0);
  const hold: Hold = {
    ...base,
    amount_minor: base.amount_minor + c.amount,
    authorized_minor: base.authorized_minor + c.amount,
    counted: addCounted(base.counted, entry),
  };
  assertHold(hold);
  return {
    outcome: 'approve',
    hold,
    counter_deltas: [entry],
    balance_delta: holdDelta(hold.program, c.amount),
  };
}

// Business cards have no balance: the answer is what the card could spend now in one purchase,
// the smallest allowance left (0 when a count limit is reached). With no limit at all we say 0
// and memo 'unlimited' rather than invent a number a terminal would print.
function balanceAnswer(c: Context): Decision {
  if (personal(c)) {
    assert.ok(c.balance !== undefined, 'checked by balance_not_found');
    const { available_minor, held_minor } = c.balance;
    return {
      outcome: 'balance',
      available_minor,
      ledger_minor: available_minor + held_minor,
      memo: 'wallet_balance',
    };
  }
  const k = c.controls;
  const n = c.counters;
  const counted_out =
    over(k.daily_count_limit, n.day.count, 1) ||
    over(k.weekly_count_limit, n.week.count, 1) ||
    over(k.monthly_count_limit, n.month.count, 1);
  const left: number[] = [];
  if (k.per_transaction_limit_minor !== undefined) left.push(k.per_transaction_limit_minor);
  if (k.daily_limit_minor !== undefined) left.push(k.daily_limit_minor - n.day.amount_minor);
  if (k.weekly_limit_minor !== undefined) left.push(k.weekly_limit_minor - n.week.amount_minor);
  if (k.monthly_limit_minor !== undefined) left.push(k.monthly_limit_minor - n.month.amount_minor);
  if (left.length === 0 && !counted_out) {
    return { outcome: 'balance', available_minor: 0, ledger_minor: 0, memo: 'unlimited' };
  }
  const available_minor = counted_out ? 0 : Math.max(0, Math.min(...left));
  return { outcome: 'balance', available_minor, ledger_minor: available_minor, memo: 'remaining_allowance' };
}

// What to store under the jit_token for replays; nothing when the decision was itself a replay
// (or a mismatching one: the first answer stays the answer), and nothing for a card we do not
// know: a message about a card outside the data of record changes no state (a retry is declined
// the same way while the card stays unknown, and unknown tokens cannot fill Redis with records).
export function toStored(input: DecisionInput, decision: Decision): StoredDecision | undefined {
  if (input.replay !== undefined || decision.outcome === 'replay') return undefined;
  if (decision.outcome === 'decline' && decision.memo === 'card_not_found') return undefined;
  const key = { jit_token: input.jit_token, kind: input.kind, amount_minor: input.amount_minor };
  switch (decision.outcome) {
    case 'approve':
      return { ...key, outcome: 'approve' };
    case 'decline':
      return { ...key, outcome: 'decline', decline_reason: decision.decline_reason, memo: decision.memo };
    case 'balance':
      return {
        ...key,
        outcome: 'balance',
        available_minor: decision.available_minor,
        ledger_minor: decision.ledger_minor,
        memo: decision.memo,
      };
  }
}
