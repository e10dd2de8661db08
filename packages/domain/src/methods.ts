// Marqeta's jit_funding.method values and what each asks of us. The table is the whole truth:
// the authorizer dispatches on `kind`, and the Lua script carries a copy of it.

export const method_kinds = [
  // Actionable: a decision.
  'authorization',
  'incremental',
  'account_verification',
  'balance_inquiry',
  // Informative: apply the effect, answer 200.
  'reversal',
  'clearing',
  'refund',
  'advice',
  // Known, and deliberately without effect here (see the rows); answered 200.
  'notification',
  // Known money-out methods this program does not offer: declined.
  'unsupported',
  'unknown',
] as const;
export type MethodKind = (typeof method_kinds)[number];

export interface MethodInfo {
  readonly kind: MethodKind;
  // Would approving it let money leave the cardholder's account? Decides the safe answer.
  readonly moves_money_out: boolean;
  // Captured in the same message (no clearing need follow): on expiry the hold is captured,
  // never released, because the money has already gone.
  readonly single_message: boolean;
}

function row(kind: MethodKind, moves_money_out: boolean, single_message = false): MethodInfo {
  return { kind, moves_money_out, single_message };
}

// Every value of Marqeta's jit_funding.method enum (Core API swagger, 50 values).
// Single-message flags are unconfirmed for PIN debit: wrongly set, a never-cleared hold is
// captured at expiry (the cardholder waits for reconciliation); wrongly unset, money already
// taken would be released (we lose it). The first error is the one we can afford.
export const jit_methods: Readonly<Record<string, MethodInfo>> = {
  'pgfs.authorization': row('authorization', true),
  'pgfs.authorization.cashback': row('authorization', true),
  'pgfs.authorization.quasi.cash': row('authorization', true),
  'pgfs.auth_plus_capture': row('authorization', true, true),
  'pgfs.pindebit': row('authorization', true, true),
  'pgfs.pindebit.cashback': row('authorization', true, true),
  'pgfs.pindebit.quasi.cash': row('authorization', true, true),
  'pgfs.pindebit.atm.withdrawal': row('authorization', true, true),
  'pgfs.pindebit.authorization': row('authorization', true),
  'pgfs.atm.withdrawal': row('authorization', true),
  'pgfs.billpayment': row('authorization', true),
  'pgfs.authorization.incremental': row('incremental', true),
  'pgfs.authorization.account_verification': row('account_verification', false),
  'pgfs.balanceinquiry': row('balance_inquiry', false),
  'pgfs.pindebit.balanceinquiry': row('balance_inquiry', false),
  'pgfs.authorization.reversal': row('reversal', false),
  'pgfs.pindebit.authorization.reversal': row('reversal', false),
  'pgfs.billpayment.reversal': row('reversal', false),
  'pgfs.authorization.clearing': row('clearing', true),
  'pgfs.authorization.capture': row('clearing', true),
  'pgfs.pindebit.authorization.clearing': row('clearing', true),
  'pgfs.atm.clearing.withdrawal': row('clearing', true),
  'pgfs.authorization.clearing.quasi.cash': row('clearing', true),
  'pgfs.billpayment.capture': row('clearing', true),
  // Never sent to a gateway, says Marqeta; if one comes, the money has moved: a force post.
  'pgfs.force_capture': row('clearing', true),
  'pgfs.refund': row('refund', false),
  'pgfs.pindebit.refund': row('refund', false),
  // A refund that was authorized first is credited when it clears, once.
  'pgfs.refund.authorization.clearing': row('refund', false),
  'pgfs.authorization.advice': row('advice', true),
  'pgfs.authorization.standin': row('advice', true),
  'pgfs.auth_plus_capture.standin': row('advice', true, true),
  // A pending refund credit: crediting it now and again at refund.authorization.clearing would
  // pay twice, and it may never arrive. So no effect, and its reversal has nothing to undo.
  'pgfs.refund.authorization': row('notification', false),
  'pgfs.refund.authorization.reversal': row('notification', false),
  // Money in by other rails (disputes, deposits, loads, push-to-card): booked by settlement from
  // the transaction webhooks, never by the real-time rules.
  'pgfs.authorization.capture.chargeback': row('notification', false),
  'pgfs.pindebit.chargeback': row('notification', false),
  'pgfs.dispute.credit': row('notification', false),
  'pgfs.directdeposit.credit': row('notification', false),
  'pgfs.directdeposit.debit.reversal': row('notification', false),
  'pgfs.adjustment.credit': row('notification', false),
  'pgfs.network.load': row('notification', false),
  'pgfs.original.credit.authorization': row('notification', false),
  'pgfs.original.credit.auth_plus_capture': row('notification', false),
  'pgfs.original.credit.authorization.clearing': row('notification', false),
  // Money out by rails this program does not offer.
  'pgfs.authorization.capture.chargeback.reversal': row('unsupported', true),
  'pgfs.pindebit.chargeback.reversal': row('unsupported', true),
  'pgfs.dispute.debit': row('unsupported', true),
  'pgfs.directdeposit.debit': row('unsupported', true),
  'pgfs.directdeposit.credit.reversal': row('unsupported', true),
  'pgfs.adjustment.debit': row('unsupported', true),
  'pgfs.original.credit.authorization.reversal': row('unsupported', true),
};

const money_in_words: readonly string[] = ['refund', 'credit', 'load'];
const undo_words: readonly string[] = ['reversal', 'debit', 'chargeback'];

// An unknown method is treated as money out unless its name plainly says money comes in and
// nothing in it undoes that. Declining a notification costs nothing; approving an unchecked
// spend costs money.
function unknownMovesMoneyOut(method: string): boolean {
  const parts = method.split('.');
  const money_in = parts.some((part) => money_in_words.includes(part));
  const undone = parts.some((part) => undo_words.includes(part));
  return !(money_in && !undone);
}

export function classifyMethod(method: string): MethodInfo {
  const known = Object.hasOwn(jit_methods, method) ? jit_methods[method] : undefined;
  return known ?? row('unknown', unknownMovesMoneyOut(method));
}

export const method_actions = ['decide', 'apply', 'acknowledge', 'decline'] as const;
export type MethodAction = (typeof method_actions)[number];

const action_by_kind: Readonly<Record<MethodKind, MethodAction | undefined>> = {
  authorization: 'decide',
  incremental: 'decide',
  account_verification: 'decide',
  balance_inquiry: 'decide',
  reversal: 'apply',
  clearing: 'apply',
  refund: 'apply',
  advice: 'apply',
  notification: 'acknowledge',
  unsupported: 'decline',
  // Unknown: by the name (decline money out, acknowledge the rest); the caller logs a warning.
  unknown: undefined,
};

export function methodAction(info: MethodInfo): MethodAction {
  return action_by_kind[info.kind] ?? (info.moves_money_out ? 'decline' : 'acknowledge');
}
