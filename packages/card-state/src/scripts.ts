import { readFile } from 'node:fs/promises';
import {
  defineScript,
  defineScripts,
  type RedisClient,
  type ScriptArgument,
  type ScriptSource,
  type ScriptSpec,
  type Scripts,
} from '@afc/redis';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { CardStateReplyError, errorFromReply } from './errors.ts';
import {
  ApplyNoteSchema,
  BalanceDeltaSchema,
  CountedSchema,
  DeclineMemoSchema,
  DeclineReasonSchema,
  HoldSchema,
  StoredApproveSchema,
  StoredBalanceSchema,
  StoredDecisionSchema,
  StoredDeclineSchema,
} from './schemas.ts';

// Lua lives in lua/ beside src/ and dist/ (package.json `files` ships it); registered through
// @afc/redis defineScripts with this package's source (card_state_source below).
const lua_directory = new URL('../lua/', import.meta.url);

// lib.lua is prepended to the scripts that decide and apply: one EVALSHA is still one
// self-contained script, and the domain's arithmetic exists once in Lua.
export type CardStateScriptSpec<Keys extends number, Input, Output> = ScriptSpec<Keys, Input, Output> & {
  readonly with_lib: boolean;
};

// biome-ignore lint/suspicious/noExplicitAny: the input type is contravariant; any spec fits here.
type AnyCardStateScriptSpec = CardStateScriptSpec<number, any, unknown>;

// Every reply is checked against its schema: a script and this package can drift apart (a
// deploy that changed one side, a hand-edited script), and a misread reply would move money.
// The check is compiled once (TypeCompiler): a few µs per reply, where Value.Check interpreted
// the schema on every call.
type ReplyParser<S extends TSchema> = (reply: unknown) => Static<S>;

export function replyParser<S extends TSchema>(script: string, schema: S): ReplyParser<S> {
  const check = TypeCompiler.Compile(schema);
  return (reply) => {
    if (typeof reply !== 'string') throw new CardStateReplyError(`${script}: reply is not a JSON string`);
    let value: unknown;
    try {
      value = JSON.parse(reply);
    } catch (error) {
      throw new CardStateReplyError(`${script}: reply is not JSON`, { cause: error });
    }
    if (!check.Check(value)) {
      const first = check.Errors(value).First();
      throw new CardStateReplyError(
        `${script}: unexpected reply (${first?.path} ${first?.message}): ${reply}`,
      );
    }
    return value;
  };
}

const missing_pieces = ['card', 'controls', 'cardholder', 'counters', 'balance'] as const;
export type MissingPiece = (typeof missing_pieces)[number];
const MissingSchema = Type.Object({
  status: Type.Literal('missing'),
  missing: Type.Array(Type.Union(missing_pieces.map((piece) => Type.Literal(piece))), { minItems: 1 }),
});

export const DecideReplySchema = Type.Union([
  MissingSchema,
  Type.Object({
    status: Type.Literal('decided'),
    outcome: Type.Literal('replay'),
    stored: StoredDecisionSchema,
  }),
  Type.Object({
    status: Type.Literal('decided'),
    outcome: Type.Literal('approve'),
    stored: StoredApproveSchema,
    hold: Type.Union([HoldSchema, Type.Null()]),
    event_id: Type.String(),
    stream_id: Type.String(),
  }),
  Type.Object({
    status: Type.Literal('decided'),
    outcome: Type.Literal('decline'),
    // null: nothing stored: a replay with another amount or kind (the first answer stays), or
    // a card that is not the message's cardholder's (card_not_found, card_user_mismatch).
    stored: Type.Union([StoredDeclineSchema, Type.Null()]),
    decline_reason: DeclineReasonSchema,
    memo: DeclineMemoSchema,
    event_id: Type.Optional(Type.String()),
    stream_id: Type.Optional(Type.String()),
  }),
  Type.Object({
    status: Type.Literal('decided'),
    outcome: Type.Literal('balance'),
    stored: StoredBalanceSchema,
  }),
]);
export type DecideResult = Static<typeof DecideReplySchema>;

const movement = {
  hold: Type.Union([HoldSchema, Type.Null()]),
  counter_deltas: Type.Array(CountedSchema),
  balance_delta: BalanceDeltaSchema,
  event_id: Type.String(),
  stream_id: Type.String(),
};

// The hold (or card) belongs to another card or cardholder than the message: nothing applied.
const OwnerMismatchSchema = Type.Object({
  status: Type.Literal('owner_mismatch'),
  owner_card_token: Type.String(),
  owner_user_token: Type.String(),
});

export const ApplyReplySchema = Type.Union([
  Type.Object({ status: Type.Literal('duplicate') }),
  MissingSchema,
  OwnerMismatchSchema,
  Type.Object({
    status: Type.Literal('applied'),
    note: ApplyNoteSchema,
    ...movement,
    released_minor: Type.Integer({ minimum: 0 }),
    captured_minor: Type.Integer({ minimum: 0 }),
  }),
]);
export type ApplyResult = Static<typeof ApplyReplySchema>;

// apply.lua with restore: Redis knows the token (a decision, an applied marker, a hold something
// was authorized into; a restore repeated is one of these) and nothing was written, or the
// approval held as a stand-in's advice.
export const RestoreReplySchema = Type.Union([
  Type.Object({ status: Type.Literal('known') }),
  MissingSchema,
  OwnerMismatchSchema,
  Type.Object({
    status: Type.Literal('applied'),
    // advice_raised / advice_unchanged: onto the empty hold a reversal left.
    note: Type.Union([
      Type.Literal('standin_held'),
      Type.Literal('advice_raised'),
      Type.Literal('advice_unchanged'),
    ]),
    ...movement,
    released_minor: Type.Literal(0),
    captured_minor: Type.Literal(0),
  }),
]);
export type RestoreResult = Static<typeof RestoreReplySchema>;

export const ReleaseReplySchema = Type.Union([
  MissingSchema,
  Type.Object({ status: Type.Literal('owner_mismatch') }),
  // The token's stored decision has another kind or amount: not the one that timed out.
  Type.Object({ status: Type.Literal('mismatch'), stored: StoredDecisionSchema }),
  // Another request decided the token, or a replay answered this one's approval to a resend:
  // it stands (the service's own release only).
  Type.Object({ status: Type.Literal('superseded'), stored: StoredDecisionSchema }),
  Type.Object({
    status: Type.Literal('released'),
    action: Type.Union([
      Type.Literal('declined_before_decision'),
      Type.Literal('already_declined'),
      Type.Literal('balance_withdrawn'),
    ]),
    stored: StoredDeclineSchema,
  }),
  Type.Object({
    status: Type.Literal('released'),
    action: Type.Literal('approval_undone'),
    stored: StoredDeclineSchema,
    ...movement,
  }),
]);
export type ReleaseResult = Static<typeof ReleaseReplySchema>;

// The request travels as one JSON argument (validated and built in requests.ts).
const one_string = (input: string): ScriptArgument[] => [input];

export const decide_script = defineScript({
  file: 'decide.lua',
  keys: 9,
  encode: one_string,
  decode: replyParser('decide', DecideReplySchema),
});

export const apply_script = defineScript({
  file: 'apply.lua',
  keys: 6,
  encode: one_string,
  decode: replyParser('apply', ApplyReplySchema),
});

// The same script as apply (a restore is an advice), read through its own reply schema.
export const restore_script = defineScript({
  file: 'apply.lua',
  keys: 6,
  encode: one_string,
  decode: replyParser('apply (restore)', RestoreReplySchema),
});

export const release_script = defineScript({
  file: 'release_after_timeout.lua',
  keys: 5,
  encode: one_string,
  decode: replyParser('release_after_timeout', ReleaseReplySchema),
});

function pair(script: string, reply: unknown): { written: boolean; stored_version: number } {
  if (!Array.isArray(reply) || reply.length !== 2 || (reply[0] !== 0 && reply[0] !== 1)) {
    throw new CardStateReplyError(`${script}: unexpected reply ${JSON.stringify(reply)}`);
  }
  const stored_version: unknown = reply[1];
  if (typeof stored_version !== 'number') throw new CardStateReplyError(`${script}: version not a number`);
  return { written: reply[0] === 1, stored_version };
}

export const write_versioned_script = defineScript({
  file: 'write_versioned.lua',
  keys: 1,
  encode: (input: { version: number; json: string }): ScriptArgument[] => [String(input.version), input.json],
  decode: (reply: unknown) => pair('write_versioned', reply),
});

export const write_if_unloaded_script = defineScript({
  file: 'write_if_unloaded.lua',
  keys: 1,
  encode: (input: { guard: string; fields: readonly string[] }): ScriptArgument[] => [
    input.guard,
    ...input.fields,
  ],
  decode: (reply: unknown): boolean => {
    if (reply !== 0 && reply !== 1)
      throw new CardStateReplyError(`write_if_unloaded: reply ${String(reply)}`);
    return reply === 1;
  },
});

export const credit_outcomes = ['duplicate', 'filled', 'included', 'credited'] as const;
export type CreditOutcome = (typeof credit_outcomes)[number];

export const credit_balance_script = defineScript({
  file: 'credit_balance.lua',
  keys: 2,
  encode: (input: {
    amount_minor: number;
    wallet_version: number;
    available_minor: number;
    held_minor: number;
    ttl_s: number;
  }): ScriptArgument[] => [
    String(input.amount_minor),
    String(input.wallet_version),
    String(input.available_minor),
    String(input.held_minor),
    String(input.ttl_s),
  ],
  decode: (reply: unknown): CreditOutcome => {
    if (!credit_outcomes.includes(reply as CreditOutcome))
      throw new CardStateReplyError(`credit_balance: reply ${String(reply)}`);
    return reply as CreditOutcome;
  },
});

const specs = {
  decide: { ...decide_script, with_lib: true },
  apply: { ...apply_script, with_lib: true },
  restore: { ...restore_script, with_lib: true },
  release: { ...release_script, with_lib: true },
  writeVersioned: { ...write_versioned_script, with_lib: false },
  writeIfUnloaded: { ...write_if_unloaded_script, with_lib: false },
  creditBalance: { ...credit_balance_script, with_lib: false },
} as const;

export type CardStateScripts = Scripts<typeof specs>;

export async function loadLua(file: string, with_lib: boolean): Promise<string> {
  const body = await readFile(new URL(file, lua_directory), 'utf8');
  if (!with_lib) return body;
  const lib = await readFile(new URL('lib.lua', lua_directory), 'utf8');
  return `${lib}\n${body}`;
}

// @afc/redis defineScripts, from this package's lua/ (lib.lua prepended where a spec says so),
// with error replies carrying our codes as our errors.
const card_state_source: ScriptSource<AnyCardStateScriptSpec> = {
  read: (spec) => loadLua(spec.file, spec.with_lib),
  command_prefix: 'afc_card_state_',
  reply_error: (name, error) => errorFromReply(name, error.message, error),
};

export function defineScriptSet<Specs extends Record<string, AnyCardStateScriptSpec>>(
  client: RedisClient,
  set: Specs,
): Promise<Scripts<Specs>> {
  return defineScripts(client, set, card_state_source);
}

export function defineCardStateScripts(client: RedisClient): Promise<CardStateScripts> {
  return defineScriptSet(client, specs);
}
