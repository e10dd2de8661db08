import assert from 'node:assert/strict';
import {
  type BalanceMemo,
  type Decision,
  type DecisionInput,
  type DecisionKind,
  decideAuthorization,
  decision_kinds,
  type StoredDecision,
  toStored,
} from './decide.ts';
import {
  applyAdvice,
  applyBalanceDelta,
  applyClearing,
  applyRefund,
  applyReversal,
  type EffectNote,
  type EffectResult,
  type RefundMode,
} from './effects.ts';
import { classifyMethod, type MethodInfo, type MethodKind, methodAction } from './methods.ts';
import type { DeclineMemo } from './reasons.ts';
import type {
  Balance,
  Cardholder,
  CardState,
  Hold,
  Program,
  SpendingControls,
  WindowCounters,
} from './types.ts';
import { applyCounterDeltas, currentCounters } from './windows.ts';

// A reference interpreter: folds the pure rules over a list of Marqeta messages for several
// cards, the way the authorizer and the Lua script are meant to, one message at a time. The
// Lua script is checked against it step by step and on the final state.

export interface SimState {
  readonly cards: ReadonlyMap<string, CardState>;
  readonly cardholders: ReadonlyMap<string, Cardholder>;
  // By card_token.
  readonly controls: ReadonlyMap<string, SpendingControls>;
  readonly counters: ReadonlyMap<string, WindowCounters>;
  // By user_token (personal cardholders).
  readonly balances: ReadonlyMap<string, Balance>;
  // By the first jit_token of the authorization.
  readonly holds: ReadonlyMap<string, Hold>;
  // Decisions by jit_token, for replays.
  readonly decisions: ReadonlyMap<string, StoredDecision>;
  // jit_tokens of informative messages already applied: Marqeta may send one twice.
  readonly applied: ReadonlySet<string>;
  readonly refund_mode: RefundMode;
}

export interface SimEvent {
  // jit_funding.method as Marqeta sends it.
  readonly method: string;
  readonly jit_token: string;
  // jit_funding.original_jit_funding_token: the authorization an incremental, reversal,
  // clearing or advice belongs to.
  readonly original_jit_token?: string;
  readonly card_token: string;
  readonly amount_minor: number;
  readonly currency: string;
  readonly mcc: string;
  readonly mid: string;
  readonly merchant_country: string;
  readonly now_ms: number;
  // Clearing only: Marqeta said it is the last one.
  readonly final?: boolean;
  // Decisions only: the rules run after the service's decision deadline (a script queued
  // behind a stalled Redis); the service has already answered a timeout decline.
  readonly late?: boolean;
}

export const sim_outcomes = [
  'approve',
  'decline',
  'balance',
  'replay',
  'applied',
  'duplicate',
  'acknowledged',
] as const;
export type SimOutcome = (typeof sim_outcomes)[number];

export interface SimStep {
  readonly jit_token: string;
  readonly kind: MethodKind;
  readonly outcome: SimOutcome;
  // The decline memo, the balance memo or the effect note; null when there is nothing to say.
  readonly code: DeclineMemo | BalanceMemo | EffectNote | 'card_not_found' | null;
  readonly decision: Decision | null;
  readonly effect: EffectResult | null;
}

export interface SimResult {
  readonly state: SimState;
  readonly steps: readonly SimStep[];
}

interface Working {
  readonly initial: SimState;
  readonly counters: Map<string, WindowCounters>;
  readonly balances: Map<string, Balance>;
  readonly holds: Map<string, Hold>;
  readonly decisions: Map<string, StoredDecision>;
  readonly applied: Set<string>;
}

export function simulate(initial: SimState, events: readonly SimEvent[]): SimResult {
  const w: Working = {
    initial,
    counters: new Map(initial.counters),
    balances: new Map(initial.balances),
    holds: new Map(initial.holds),
    decisions: new Map(initial.decisions),
    applied: new Set(initial.applied),
  };
  const steps: SimStep[] = [];
  for (const event of events) {
    const info = classifyMethod(event.method);
    const action = methodAction(info);
    if (action === 'decide') steps.push(decideStep(w, event, info));
    else if (action === 'apply') steps.push(applyStep(w, event, info));
    else if (action === 'acknowledge') steps.push(plainStep(event, info, 'acknowledged', null));
    else steps.push(plainStep(event, info, 'decline', 'method_not_supported'));
  }
  const { counters, balances, holds, decisions, applied } = w;
  return { state: { ...initial, counters, balances, holds, decisions, applied }, steps };
}

function plainStep(event: SimEvent, info: MethodInfo, outcome: SimOutcome, code: SimStep['code']): SimStep {
  return { jit_token: event.jit_token, kind: info.kind, outcome, code, decision: null, effect: null };
}

function isDecisionKind(kind: MethodKind): kind is DecisionKind {
  return (decision_kinds as readonly string[]).includes(kind);
}

function decisionInput(w: Working, event: SimEvent, kind: DecisionKind, info: MethodInfo): DecisionInput {
  const card = w.initial.cards.get(event.card_token);
  const cardholder = card === undefined ? undefined : w.initial.cardholders.get(card.user_token);
  const controls = w.initial.controls.get(event.card_token);
  const counters = w.counters.get(event.card_token);
  const balance = card === undefined ? undefined : w.balances.get(card.user_token);
  const original = event.original_jit_token === undefined ? undefined : w.holds.get(event.original_jit_token);
  const replay = w.decisions.get(event.jit_token);
  return {
    kind,
    jit_token: event.jit_token,
    amount_minor: event.amount_minor,
    currency: event.currency,
    mcc: event.mcc,
    mid: event.mid,
    merchant_country: event.merchant_country,
    now_ms: event.now_ms,
    single_message: info.single_message,
    deadline_passed: event.late === true,
    hold_exists: w.holds.has(event.jit_token),
    ...(card === undefined ? {} : { card }),
    ...(cardholder === undefined ? {} : { cardholder }),
    ...(controls === undefined ? {} : { controls }),
    ...(counters === undefined ? {} : { counters }),
    ...(balance === undefined ? {} : { balance }),
    ...(original === undefined ? {} : { original_hold: original }),
    ...(replay === undefined ? {} : { replay }),
  };
}

function decideStep(w: Working, event: SimEvent, info: MethodInfo): SimStep {
  if (!isDecisionKind(info.kind)) return assert.fail(`not a decision: ${info.kind}`);
  const input = decisionInput(w, event, info.kind, info);
  const decision = decideAuthorization(input);
  const stored = toStored(input, decision);
  if (stored !== undefined) w.decisions.set(event.jit_token, stored);
  const base = { jit_token: event.jit_token, kind: info.kind, decision, effect: null };
  if (decision.outcome === 'approve') {
    if (decision.hold !== null && input.card !== undefined) {
      const { card_token, user_token, program } = input.card;
      commit(w, { card_token, user_token, program }, decision, event);
    }
    return { ...base, outcome: 'approve', code: null };
  }
  if (decision.outcome === 'decline') return { ...base, outcome: 'decline', code: decision.memo };
  if (decision.outcome === 'balance') return { ...base, outcome: 'balance', code: decision.memo };
  return { ...base, outcome: 'replay', code: null };
}

interface Owner {
  readonly card_token: string;
  readonly user_token: string;
  readonly program: Program;
}

type Change = Pick<EffectResult, 'hold' | 'counter_deltas' | 'balance_delta'>;

function commit(w: Working, owner: Owner, change: Change, event: SimEvent): void {
  if (change.hold !== null) w.holds.set(change.hold.jit_token, change.hold);
  if (change.counter_deltas.length > 0) {
    const stored = w.counters.get(owner.card_token) ?? currentCounters(undefined, event.now_ms);
    w.counters.set(owner.card_token, applyCounterDeltas(stored, change.counter_deltas));
  }
  if (owner.program === 'personal') {
    const balance = w.balances.get(owner.user_token) ?? { available_minor: 0, held_minor: 0 };
    w.balances.set(owner.user_token, applyBalanceDelta(balance, change.balance_delta));
  }
}

function applyStep(w: Working, event: SimEvent, info: MethodInfo): SimStep {
  if (w.applied.has(event.jit_token)) return plainStep(event, info, 'duplicate', null);
  w.applied.add(event.jit_token);
  const hold = w.holds.get(event.original_jit_token ?? event.jit_token);
  const card = w.initial.cards.get(event.card_token);
  const owner: Owner | undefined = hold ?? card;
  if (owner === undefined) return plainStep(event, info, 'applied', 'card_not_found');
  const today = { now_ms: event.now_ms, counters: w.counters.get(owner.card_token) };
  const purchase = {
    jit_token: event.original_jit_token ?? event.jit_token,
    card_token: owner.card_token,
    user_token: owner.user_token,
    program: owner.program,
    single_message: info.single_message,
  };
  let effect: EffectResult;
  if (info.kind === 'reversal') effect = applyReversal(hold, event.amount_minor, purchase);
  else if (info.kind === 'clearing') {
    effect = applyClearing(hold, event.amount_minor, { ...today, purchase, final: event.final === true });
  } else if (info.kind === 'refund')
    effect = applyRefund(owner.program, event.amount_minor, w.initial.refund_mode, today);
  else if (info.kind === 'advice') {
    effect = applyAdvice(hold, { ...today, ...purchase, amount_minor: event.amount_minor });
  } else return assert.fail(`not an informative kind: ${info.kind}`);
  commit(w, owner, effect, event);
  return {
    jit_token: event.jit_token,
    kind: info.kind,
    outcome: 'applied',
    code: effect.note,
    decision: null,
    effect,
  };
}
