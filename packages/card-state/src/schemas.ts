import {
  type Balance,
  type BalanceDelta,
  balance_memos,
  type Cardholder,
  type CardState,
  type Counted,
  card_statuses,
  cardholder_statuses,
  type DecisionKind,
  type DeclineMemo,
  decision_kinds,
  decline_memos,
  decline_reasons,
  type EffectNote,
  effect_notes,
  type Hold,
  programs,
  type SpendingControls,
  type WindowCounters,
} from '@afc/domain';
import { type Static, type TLiteral, type TUnion, Type } from '@sinclair/typebox';

// TypeBox shapes of what crosses the Redis boundary: documents the loader writes, what the
// scripts store and reply, and the outbox event. Replies are checked against them: a script and
// this package can drift apart, and a wrong shape must fail loudly, not be misread.

function literals<const T extends readonly string[]>(values: T): TUnion<TLiteral<T[number]>[]> {
  return Type.Union(values.map((value) => Type.Literal(value)));
}

// The decline memos the scripts use: the domain's, plus the service's (decide.lua): outbox_full
// (the partition's outbox is at its bound) and card_user_mismatch (the card belongs to another
// cardholder than the message says; declined INVALID_CARD).
export const service_decline_memos = {
  card_user_mismatch: 'INVALID_CARD',
  outbox_full: 'TRANSACTION_NOT_PERMITTED',
} as const;
export type CardStateDeclineMemo = DeclineMemo | keyof typeof service_decline_memos;
export const card_state_decline_memos: readonly CardStateDeclineMemo[] = [
  ...(Object.keys(decline_memos) as DeclineMemo[]),
  ...(Object.keys(service_decline_memos) as (keyof typeof service_decline_memos)[]),
];

export const informative_kinds = ['reversal', 'clearing', 'refund', 'advice'] as const;
export type InformativeKind = (typeof informative_kinds)[number];

export const ProgramSchema = literals(programs);
export const DecisionKindSchema = literals(decision_kinds);
export const InformativeKindSchema = literals(informative_kinds);
export const DeclineReasonSchema = literals(decline_reasons);
export const DeclineMemoSchema = literals(card_state_decline_memos as readonly string[]);
export const BalanceMemoSchema = literals(balance_memos);
export const ApplyNoteSchema = literals([...effect_notes, 'card_not_found'] as const);
export type ApplyNote = EffectNote | 'card_not_found';

const natural = Type.Integer({ minimum: 0 });
const money = Type.Integer({ minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER });
const strict = { additionalProperties: false } as const;

// Signed as a delta, natural inside a hold.
export const CountedSchema = Type.Object(
  {
    day_start: Type.Integer(),
    week_start: Type.Integer(),
    month_start: Type.Integer(),
    amount_minor: money,
    count: Type.Integer(),
  },
  strict,
);

export const HoldSchema = Type.Object(
  {
    jit_token: Type.String(),
    card_token: Type.String(),
    user_token: Type.String(),
    program: ProgramSchema,
    amount_minor: natural,
    authorized_minor: natural,
    released_minor: natural,
    captured_minor: natural,
    reversed_beyond_minor: Type.Optional(natural),
    on_expiry: literals(['release', 'capture'] as const),
    counted: Type.Array(CountedSchema, { maxItems: 16 }),
  },
  strict,
);

export const BalanceDeltaSchema = Type.Object({ available_minor: money, held_minor: money }, strict);

const stored_base = { jit_token: Type.String(), kind: DecisionKindSchema, amount_minor: money };
export const StoredApproveSchema = Type.Object({ ...stored_base, outcome: Type.Literal('approve') }, strict);
export const StoredDeclineSchema = Type.Object(
  {
    ...stored_base,
    outcome: Type.Literal('decline'),
    decline_reason: DeclineReasonSchema,
    memo: DeclineMemoSchema,
  },
  strict,
);
export const StoredBalanceSchema = Type.Object(
  {
    ...stored_base,
    outcome: Type.Literal('balance'),
    available_minor: money,
    ledger_minor: money,
    memo: BalanceMemoSchema,
  },
  strict,
);
export const StoredDecisionSchema = Type.Union([
  StoredApproveSchema,
  StoredDeclineSchema,
  StoredBalanceSchema,
]);
export type CardStateStoredDecision = Static<typeof StoredDecisionSchema>;

// The record under decision:<jit>: the StoredDecision and/or the kind of an informative
// message already applied under that token; with a decision, the newest request it was answered
// to (`by`, received at `by_at_ms`): see release_after_timeout.lua.
export const DecisionRecordSchema = Type.Object(
  {
    by: Type.Optional(Type.String()),
    by_at_ms: Type.Optional(Type.Integer()),
    // The service's decline stored over an approval it undid (release_after_timeout.lua).
    undone: Type.Optional(Type.Literal(true)),
    jit_token: Type.Optional(Type.String()),
    kind: Type.Optional(DecisionKindSchema),
    amount_minor: Type.Optional(money),
    outcome: Type.Optional(literals(['approve', 'decline', 'balance'] as const)),
    decline_reason: Type.Optional(DeclineReasonSchema),
    memo: Type.Optional(Type.Union([DeclineMemoSchema, BalanceMemoSchema])),
    available_minor: Type.Optional(money),
    ledger_minor: Type.Optional(money),
    applied: Type.Optional(InformativeKindSchema),
  },
  strict,
);

export const event_types = [
  'authorization.approved',
  'authorization.declined',
  'authorization.incremental',
  'authorization.reversed',
  'transaction.cleared',
  'transaction.refunded',
  'authorization.advice',
  'authorization.timeout_released',
] as const;
export type OutboxEventType = (typeof event_types)[number];

const HoldSnapshotSchema = Type.Object(
  { amount_minor: natural, authorized_minor: natural, released_minor: natural, captured_minor: natural },
  strict,
);

// How lib.lua's prepare_event begins every event it writes: event_id, then type, plain tokens.
// A reader takes both from this prefix without parsing the rest (the authorizer's relay, which
// publishes the text as written); test/helpers.ts outboxEvents checks every event the scripts
// write against it.
export const outbox_event_prefix = /^\{"event_id":"([^"\\]{1,200})","type":"([^"\\]{1,64})",/;

// One schema for every event of the outbox streams (field `event` of each entry). event_id is
// `${jit_token}:${type}`: the messageId downstream deduplicates on.
export const OutboxEvent = Type.Object(
  {
    event_id: Type.String(),
    type: literals(event_types),
    occurred_at_ms: natural,
    kind: Type.Union([DecisionKindSchema, InformativeKindSchema]),
    method: Type.String(),
    jit_token: Type.String(),
    original_jit_token: Type.Optional(Type.String()),
    transaction_token: Type.Optional(Type.String()),
    network: Type.Optional(Type.String()),
    card_token: Type.String(),
    user_token: Type.String(),
    // null when the card is unknown (or another cardholder's).
    program: Type.Union([ProgramSchema, Type.Null()]),
    amount_minor: money,
    currency: Type.String(),
    merchant: Type.Object(
      { mcc: Type.String(), mid: Type.String(), country: Type.String(), name: Type.Optional(Type.String()) },
      strict,
    ),
    decline_reason: Type.Optional(DeclineReasonSchema),
    memo: Type.Optional(DeclineMemoSchema),
    note: Type.Optional(ApplyNoteSchema),
    counter_deltas: Type.Array(CountedSchema),
    balance_delta: BalanceDeltaSchema,
    hold: Type.Union([HoldSnapshotSchema, Type.Null()]),
  },
  strict,
);
export type OutboxEvent = Static<typeof OutboxEvent>;

// Documents the loader and the control plane write through.
const token = Type.String({ pattern: '^[A-Za-z0-9._-]{1,128}$' });
const version = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const text = Type.String({ maxLength: 64 });

export const CardDocumentSchema = Type.Object(
  {
    card_token: token,
    user_token: token,
    program: ProgramSchema,
    state: literals(card_statuses),
    expiration_year: Type.Integer({ minimum: 1970, maximum: 9999 }),
    expiration_month: Type.Integer({ minimum: 1, maximum: 12 }),
    currency: text,
    version,
  },
  strict,
);

const limit = Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }));
const list = Type.Array(text, { maxItems: 1_000 });
export const ControlsDocumentSchema = Type.Object(
  {
    per_transaction_limit_minor: limit,
    daily_limit_minor: limit,
    weekly_limit_minor: limit,
    monthly_limit_minor: limit,
    daily_count_limit: limit,
    weekly_count_limit: limit,
    monthly_count_limit: limit,
    mcc_allow: list,
    mcc_block: list,
    blocked_merchant_ids: list,
    blocked_countries: list,
    version,
  },
  strict,
);
export type VersionedControls = SpendingControls & { readonly version: number };

export const CardholderDocumentSchema = Type.Object(
  { user_token: token, program: ProgramSchema, status: literals(cardholder_statuses), version },
  strict,
);
export type VersionedCardholder = Cardholder & { readonly version: number };

const WindowCounterSchema = Type.Object(
  {
    start: Type.Integer({ minimum: -719_468, maximum: 100_000_000 }),
    amount_minor: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    count: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  },
  strict,
);
export const CountersDocumentSchema = Type.Object(
  { day: WindowCounterSchema, week: WindowCounterSchema, month: WindowCounterSchema },
  strict,
);

export const BalanceDocumentSchema = Type.Object(
  { available_minor: money, held_minor: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }) },
  strict,
);

// Compile-time: what passes a schema is a valid domain value.
type Fits<A, B> = A extends B ? true : false;
export const schema_fits_domain: [
  Fits<Static<typeof HoldSchema>, Hold>,
  Fits<Static<typeof CountedSchema>, Counted>,
  Fits<Static<typeof BalanceDeltaSchema>, BalanceDelta>,
  Fits<Static<typeof CardDocumentSchema>, CardState>,
  Fits<Static<typeof ControlsDocumentSchema>, VersionedControls>,
  Fits<Static<typeof CardholderDocumentSchema>, VersionedCardholder>,
  Fits<Static<typeof CountersDocumentSchema>, WindowCounters>,
  Fits<Static<typeof BalanceDocumentSchema>, Balance>,
  Fits<Static<typeof DecisionKindSchema>, DecisionKind>,
] = [true, true, true, true, true, true, true, true, true];
