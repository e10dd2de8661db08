import { civilFromDays, type DecisionKind, dayFromMs, decision_kinds, windowStarts } from '@afc/domain';
import { CardStateInvalidError } from './errors.ts';
import { checkToken } from './keys.ts';
import { type InformativeKind, informative_kinds } from './schemas.ts';

// What the authorizer passes for one JIT message, already parsed from Marqeta's body (amount
// converted to integer minor units, method classified with @afc/domain classifyMethod).
export interface MessageFields {
  // jit_funding.method as Marqeta sent it (kept for the event).
  readonly method: string;
  readonly jit_token: string;
  // jit_funding.original_jit_funding_token: the authorization this message belongs to.
  readonly original_jit_token?: string;
  readonly card_token: string;
  readonly user_token: string;
  readonly currency: string;
  readonly mcc: string;
  readonly mid: string;
  readonly merchant_country: string;
  readonly merchant_name?: string;
  readonly transaction_token?: string;
  readonly network?: string;
  readonly now_ms: number;
}

export interface DecideRequest extends MessageFields {
  readonly kind: DecisionKind;
  // From classifyMethod: auth-plus-capture, single-message PIN debit (hold captured on expiry).
  readonly single_message: boolean;
  // Any safe integer: out of 0..max_amount_minor is declined amount_invalid, as the domain does.
  readonly amount_minor: number;
  // When the service answers Marqeta a timeout decline (received_at_ms + decision deadline).
  // The script compares it with the Redis clock and, past it, stores that decline and holds
  // nothing: a script that runs late must not approve.
  readonly deadline_at_ms: number;
  // Unique per JIT request the service received (Marqeta resends the same token when it did
  // not get an answer): stored with the decision, so that this request's timeout release
  // undoes only what it decided itself and no replay answered to a resend.
  readonly request_id?: string;
}

export interface ApplyRequest extends MessageFields {
  readonly kind: InformativeKind;
  readonly single_message: boolean;
  // Absent only for a reversal: release everything still held.
  readonly amount_minor?: number;
  // Clearing: Marqeta said it is the last one.
  readonly final?: boolean;
}

// An authorization Marqeta approved that Redis may not know (settlement, from Marqeta's
// transaction webhook): held and counted as a stand-in's advice that finds no hold, unless Redis
// knows anything of the token (apply.lua, restore). An authorization names no original.
export interface RestoreRequest extends Omit<MessageFields, 'original_jit_token'> {
  readonly single_message: boolean;
  readonly amount_minor: number;
}

// The memo of the decline the service answered instead of the script's decision: the deadline
// passed (timeout), or the decision failed midway (system_error). Stored as given, so a replay
// answers what Marqeta was answered.
export const release_memos = ['timeout', 'system_error'] as const;
export type ReleaseMemo = (typeof release_memos)[number];

// The decision the service answered with its own decline: the same fields it passed to decide.
export interface ReleaseRequest extends MessageFields {
  readonly kind: DecisionKind;
  readonly amount_minor: number;
  readonly memo: ReleaseMemo;
  // The deciding request's id: the service's own release, which leaves a decision another
  // request made or a replay answered (status superseded). Absent: Marqeta declined (settlement),
  // and the stored decision is released whoever made it.
  readonly request_id?: string;
}

// Free text Lua compares or copies into events; bytes, as Lua counts them.
const max_text_bytes = 256;

function text(name: string, value: unknown, optional = false): void {
  if (optional && value === undefined) return;
  if (typeof value !== 'string' || Buffer.byteLength(value, 'utf8') > max_text_bytes) {
    throw new CardStateInvalidError(`${name} must be a string of at most ${max_text_bytes} bytes`);
  }
}

function safeInteger(name: string, value: unknown): void {
  if (!Number.isSafeInteger(value)) throw new CardStateInvalidError(`${name} must be a safe integer`);
}

function oneOf(name: string, value: unknown, allowed: readonly string[]): void {
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw new CardStateInvalidError(`${name} must be one of ${allowed.join(', ')}`);
  }
}

function checkMessage(m: MessageFields): void {
  checkToken('jit_token', m.jit_token);
  checkToken('card_token', m.card_token);
  checkToken('user_token', m.user_token);
  if (m.original_jit_token !== undefined) checkToken('original_jit_token', m.original_jit_token);
  for (const name of ['method', 'currency', 'mcc', 'mid', 'merchant_country'] as const) text(name, m[name]);
  for (const name of ['merchant_name', 'transaction_token', 'network'] as const) text(name, m[name], true);
  safeInteger('now_ms', m.now_ms);
  if (m.now_ms < 0) throw new CardStateInvalidError('now_ms must not be negative');
}

// The fields every script reads besides the message: UTC windows and the calendar month of
// now_ms, from the domain's own functions (the script trusts them; they are ours).
function clockFields(now_ms: number) {
  const starts = windowStarts(now_ms);
  const civil = civilFromDays(dayFromMs(now_ms));
  return {
    day_start: starts.day,
    week_start: starts.week,
    month_start: starts.month,
    now_year: civil.year,
    now_month: civil.month,
  };
}

function messageArgument(m: MessageFields) {
  return {
    method: m.method,
    jit_token: m.jit_token,
    card_token: m.card_token,
    user_token: m.user_token,
    currency: m.currency,
    mcc: m.mcc,
    mid: m.mid,
    merchant_country: m.merchant_country,
    now_ms: m.now_ms,
    ...(m.original_jit_token === undefined ? {} : { original_jit_token: m.original_jit_token }),
    ...(m.merchant_name === undefined ? {} : { merchant_name: m.merchant_name }),
    ...(m.transaction_token === undefined ? {} : { transaction_token: m.transaction_token }),
    ...(m.network === undefined ? {} : { network: m.network }),
    ...clockFields(m.now_ms),
  };
}

// Copies only the known fields: nothing the caller added by accident reaches Lua.
export function decideArgument(
  request: DecideRequest,
  decision_ttl_s: number,
  outbox_max_events: number,
): string {
  checkMessage(request);
  oneOf('kind', request.kind, decision_kinds);
  safeInteger('amount_minor', request.amount_minor);
  safeInteger('deadline_at_ms', request.deadline_at_ms);
  text('request_id', request.request_id, true);
  if (typeof request.single_message !== 'boolean') throw new CardStateInvalidError('single_message');
  return JSON.stringify({
    ...messageArgument(request),
    kind: request.kind,
    single_message: request.single_message,
    amount_minor: request.amount_minor,
    deadline_at_ms: request.deadline_at_ms,
    ...(request.request_id === undefined ? {} : { request_id: request.request_id }),
    decision_ttl_s,
    outbox_max_events,
  });
}

// How long the scripts that may close a hold keep what they write.
export interface Retention {
  readonly decision_ttl_s: number;
  readonly closed_hold_ttl_s: number;
}

export function applyArgument(
  request: ApplyRequest,
  retention: Retention,
  refund_mode: string,
  restore = false,
): string {
  checkMessage(request);
  oneOf('kind', request.kind, informative_kinds);
  if (request.amount_minor !== undefined || request.kind !== 'reversal') {
    safeInteger('amount_minor', request.amount_minor);
  }
  if (typeof request.single_message !== 'boolean') throw new CardStateInvalidError('single_message');
  if (request.final !== undefined && typeof request.final !== 'boolean')
    throw new CardStateInvalidError('final');
  return JSON.stringify({
    ...messageArgument(request),
    kind: request.kind,
    single_message: request.single_message,
    ...(request.amount_minor === undefined ? {} : { amount_minor: request.amount_minor }),
    final: request.final === true,
    refund_mode,
    restore,
    decision_ttl_s: retention.decision_ttl_s,
    closed_hold_ttl_s: retention.closed_hold_ttl_s,
  });
}

export function restoreArgument(request: RestoreRequest, retention: Retention, refund_mode: string): string {
  if ('original_jit_token' in request)
    throw new CardStateInvalidError('a restored approval names no original');
  return applyArgument({ ...request, kind: 'advice' }, retention, refund_mode, true);
}

export function releaseArgument(request: ReleaseRequest, retention: Retention): string {
  checkMessage(request);
  oneOf('kind', request.kind, decision_kinds);
  safeInteger('amount_minor', request.amount_minor);
  oneOf('memo', request.memo, release_memos);
  text('request_id', request.request_id, true);
  return JSON.stringify({
    ...messageArgument(request),
    kind: request.kind,
    amount_minor: request.amount_minor,
    memo: request.memo,
    ...(request.request_id === undefined ? {} : { request_id: request.request_id }),
    decision_ttl_s: retention.decision_ttl_s,
    closed_hold_ttl_s: retention.closed_hold_ttl_s,
  });
}
