import {
  classifyMethod,
  currentCounters,
  type Hold,
  type MethodInfo,
  methodAction,
  type SimEvent,
  type SimState,
  type SimStep,
  simulate,
} from '@afc/domain';
import type { RedisClient } from '@afc/redis';
import { expect } from 'vitest';
import type {
  ApplyRequest,
  ApplyResult,
  CardStateStore,
  DecideRequest,
  DecideResult,
  InformativeKind,
  MissingPiece,
  OutboxEvent,
} from '../src/index.ts';
import { open_controls, open_deadline_ms, outboxEvents, passed_deadline_ms } from './helpers.ts';
import type { Scenario } from './sim-generators.ts';

// The equivalence property's harness: runs a scenario through @afc/domain simulate and, message
// by message, through the scripts, the way the authorizer will (classifyMethod → methodAction →
// decide / apply; a 'missing' reply → load from the data of record → call again), and checks
// that every step and the final state agree.

// JSON's view of a value: what Redis can hold (drops undefined members, -0 becomes 0).
const json = (value: unknown): unknown => JSON.parse(JSON.stringify(value ?? null));

function decideRequestOf(event: SimEvent, info: MethodInfo, user_token: string): DecideRequest {
  return {
    kind: info.kind as DecideRequest['kind'],
    single_message: info.single_message,
    method: event.method,
    jit_token: event.jit_token,
    ...(event.original_jit_token === undefined ? {} : { original_jit_token: event.original_jit_token }),
    card_token: event.card_token,
    user_token,
    amount_minor: event.amount_minor,
    currency: event.currency,
    mcc: event.mcc,
    mid: event.mid,
    merchant_country: event.merchant_country,
    now_ms: event.now_ms,
    // A late event's script runs past its deadline (one in the past), the others well before.
    deadline_at_ms: event.late === true ? passed_deadline_ms : open_deadline_ms,
  };
}

function applyRequestOf(event: SimEvent, info: MethodInfo, user_token: string): ApplyRequest {
  const { amount_minor, deadline_at_ms: _, ...rest } = decideRequestOf(event, info, user_token);
  return {
    ...rest,
    kind: info.kind as InformativeKind,
    ...(amount_minor === undefined ? {} : { amount_minor }),
    ...(event.final === undefined ? {} : { final: event.final }),
  };
}

// The loader: every missing piece from the data of record (the scenario's initial state).
async function load(
  store: CardStateStore,
  initial: SimState,
  missing: readonly MissingPiece[],
  event: SimEvent,
  user: string,
) {
  const card = event.card_token;
  for (const piece of missing) {
    if (piece === 'card') {
      const known = initial.cards.get(card);
      if (known === undefined) await store.writeUnknownCard(user, card, 3_600);
      else await store.writeCard(known);
    } else if (piece === 'controls') {
      await store.writeControls(user, card, { ...(initial.controls.get(card) ?? open_controls), version: 1 });
    } else if (piece === 'cardholder') {
      const holder = initial.cardholders.get(user);
      if (holder === undefined) await store.writeUnknownCardholder(user, 3_600);
      else await store.writeCardholder({ ...holder, version: 1 });
    } else if (piece === 'counters') {
      const counters = initial.counters.get(card) ?? currentCounters(undefined, event.now_ms);
      await store.writeCounters(user, card, counters);
    } else {
      await store.writeBalance(user, initial.balances.get(user) ?? null);
    }
  }
}

async function withLoads<R extends DecideResult | ApplyResult>(
  call: () => Promise<R>,
  load_missing: (missing: readonly MissingPiece[]) => Promise<void>,
): Promise<R> {
  // Card first, then what the card's program needs: at most three rounds.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const result = await call();
    if (result.status !== 'missing') return result;
    await load_missing(result.missing);
  }
  throw new Error('still missing after three loads');
}

function expectDecision(result: DecideResult, step: SimStep): void {
  const decision = step.decision;
  expect(result.status, 'decided').toBe('decided');
  if (result.status !== 'decided' || decision === null) throw new Error('unreachable');
  expect(result.outcome).toBe(step.outcome);
  if (result.outcome === 'approve' && decision.outcome === 'approve') {
    expect(json(result.hold)).toEqual(json(decision.hold));
  } else if (result.outcome === 'decline') {
    expect(result.memo).toBe(step.code);
    if (decision.outcome === 'decline') expect(result.decline_reason).toBe(decision.decline_reason);
  } else if (result.outcome === 'balance' && decision.outcome === 'balance') {
    expect(json(result.stored)).toMatchObject({
      available_minor: decision.available_minor,
      ledger_minor: decision.ledger_minor,
      memo: decision.memo,
    });
  } else if (result.outcome === 'replay' && decision.outcome === 'replay') {
    expect(json(result.stored)).toEqual(json(decision.stored));
  }
}

function expectEffect(result: ApplyResult, step: SimStep): void {
  expect(result.status).toBe(step.outcome);
  if (result.status !== 'applied') return;
  expect(result.note).toBe(step.code);
  const effect = step.effect;
  const expected = {
    hold: effect?.hold ?? null,
    counter_deltas: effect?.counter_deltas ?? [],
    balance_delta: effect?.balance_delta ?? { available_minor: 0, held_minor: 0 },
    released_minor: effect?.released_minor ?? 0,
    captured_minor: effect?.captured_minor ?? 0,
  };
  const { hold, counter_deltas, balance_delta, released_minor, captured_minor } = result;
  expect(json({ hold, counter_deltas, balance_delta, released_minor, captured_minor })).toEqual(
    json(expected),
  );
}

// Replays and duplicates change nothing: the card's state and the outbox are the same after.
async function snapshot(redis: RedisClient, store: CardStateStore, user: string, event: SimEvent) {
  const keys = store.keys(user, event.card_token);
  const hold = await redis.get(keys.holdKey(event.original_jit_token ?? event.jit_token));
  const state = await store.readState(user, event.card_token);
  return { state, hold, outbox: await redis.xlen(keys.outbox) };
}

interface Expected {
  readonly type: OutboxEvent['type'];
  readonly step: SimStep;
}

const event_types = {
  reversal: 'authorization.reversed',
  clearing: 'transaction.cleared',
  refund: 'transaction.refunded',
  advice: 'authorization.advice',
} as const;

function expectedEvent(step: SimStep): Expected | undefined {
  if (step.outcome === 'approve') {
    return {
      type: step.kind === 'incremental' ? 'authorization.incremental' : 'authorization.approved',
      step,
    };
  }
  // A replay with another amount, and a card we do not know, emit nothing (domain toStored).
  const silent = step.code === 'replay_mismatch' || step.code === 'card_not_found';
  if (step.outcome === 'decline' && step.decision !== null && !silent) {
    return { type: 'authorization.declined', step };
  }
  if (step.outcome === 'applied') return { type: event_types[step.kind as InformativeKind], step };
  return undefined;
}

async function runStep(
  redis: RedisClient,
  store: CardStateStore,
  scenario: Scenario,
  event: SimEvent,
  step: SimStep,
) {
  const info = classifyMethod(event.method);
  const action = methodAction(info);
  const user = scenario.user_of.get(event.card_token) ?? 'nobody';
  const load_missing = (missing: readonly MissingPiece[]) =>
    load(store, scenario.initial, missing, event, user);
  const quiet = step.outcome === 'replay' || step.outcome === 'duplicate';
  const before = quiet ? await snapshot(redis, store, user, event) : undefined;
  if (action === 'decide') {
    expectDecision(
      await withLoads(() => store.decide(decideRequestOf(event, info, user)), load_missing),
      step,
    );
  } else if (action === 'apply') {
    expectEffect(await withLoads(() => store.apply(applyRequestOf(event, info, user)), load_missing), step);
  } else {
    // Acknowledged or declined by method alone: the authorizer answers without Redis.
    expect(step.outcome).toBe(action === 'acknowledge' ? 'acknowledged' : 'decline');
  }
  if (before !== undefined) expect(await snapshot(redis, store, user, event)).toEqual(before);
}

export async function expectSameAsDomain(
  redis: RedisClient,
  store: CardStateStore,
  scenario: Scenario,
): Promise<SimStep[]> {
  const { state, steps } = simulate(scenario.initial, scenario.events);
  expect(steps).toHaveLength(scenario.events.length);
  for (const [i, event] of scenario.events.entries()) {
    const step = steps[i];
    if (step === undefined) throw new Error('a step per event');
    await runStep(redis, store, scenario, event, step);
  }
  await expectSameFinalState(store, scenario, state);
  await expectEvents(redis, store, scenario, steps);
  return [...steps];
}

async function expectSameFinalState(
  store: CardStateStore,
  scenario: Scenario,
  final: SimState,
): Promise<void> {
  for (const [card, user] of scenario.user_of) {
    const stored = await store.readState(user, card);
    // Never loaded: nothing can have changed it, in Redis or in the domain.
    const counters = final.counters.get(card);
    if (stored.counters === null) expect(counters).toBe(scenario.initial.counters.get(card));
    else if (counters !== undefined) expect(json(stored.counters)).toEqual(json(counters));
    else for (const w of Object.values(stored.counters)) expect([w.amount_minor, w.count]).toEqual([0, 0]);
    const balance = final.balances.get(user);
    if (stored.balance === null) expect(balance).toBe(scenario.initial.balances.get(user));
    else if (balance !== undefined) expect(json(stored.balance)).toEqual(json(balance));
    else expect(stored.balance).toBe('none');
  }
  const tokens = new Map<string, string>();
  for (const event of scenario.events) {
    const user = scenario.user_of.get(event.card_token) ?? 'nobody';
    tokens.set(event.jit_token, user);
    if (event.original_jit_token !== undefined) tokens.set(event.original_jit_token, user);
  }
  for (const jit of final.holds.keys()) expect(tokens.has(jit), `hold ${jit} checked`).toBe(true);
  for (const [jit, user] of tokens) {
    const hold: Hold | null = await store.readHold(user, jit);
    expect(json(hold), `hold ${jit}`).toEqual(json(final.holds.get(jit) ?? null));
    const record = await store.readDecision(user, jit);
    // The marks (the newest request answered) are the release's, not the domain's.
    const { applied, by: _by, by_at_ms: _by_at_ms, ...stored } = record ?? {};
    expect(json(Object.keys(stored).length === 0 ? null : stored), `decision ${jit}`).toEqual(
      json(final.decisions.get(jit) ?? null),
    );
    expect(applied !== undefined, `applied ${jit}`).toBe(final.applied.has(jit));
  }
}

// One event per approval, decline and applied message, each of the OutboxEvent schema, with the
// same deltas and hold as the domain's step.
async function expectEvents(
  redis: RedisClient,
  store: CardStateStore,
  scenario: Scenario,
  steps: readonly SimStep[],
) {
  const expected = new Map<string, Expected>();
  for (const step of steps) {
    const e = expectedEvent(step);
    if (e !== undefined) expected.set(`${step.jit_token}:${e.type}`, e);
  }
  const jits = new Set(steps.map((step) => step.jit_token));
  const seen = new Map<string, OutboxEvent>();
  for (const user of new Set(scenario.user_of.values())) {
    for (const event of await outboxEvents(redis, store, user)) {
      if (jits.has(event.jit_token)) seen.set(event.event_id, event);
    }
  }
  expect([...seen.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [id, event] of seen) {
    const step = expected.get(id)?.step;
    const change = step?.effect ?? (step?.decision?.outcome === 'approve' ? step.decision : undefined);
    expect(json(event.counter_deltas)).toEqual(json(change?.counter_deltas ?? []));
    expect(json(event.balance_delta)).toEqual(
      json(change?.balance_delta ?? { available_minor: 0, held_minor: 0 }),
    );
    const hold = change?.hold ?? null;
    expect(event.hold === null ? null : event.hold.amount_minor).toBe(
      hold === null ? null : hold.amount_minor,
    );
  }
}
