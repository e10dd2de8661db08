import assert from 'node:assert/strict';
import type { Hold } from '@afc/domain';
import { defineScript, type RedisClient, type ScriptArgument } from '@afc/redis';
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { CardStateInvalidError, CardStateReplyError } from './errors.ts';
import { cardStateKeys, checkToken } from './keys.ts';
import { BalanceDeltaSchema, CountedSchema, HoldSchema } from './schemas.ts';
import { defineScriptSet, replyParser } from './scripts.ts';

// A set apart from scripts.ts' decide/apply set, registered the same way (defineScriptSet): only
// settlement expires holds and reconciles totals, so only it pays for loading these scripts.

const ExpiryReplySchema = Type.Object(
  {
    status: Type.Literal('expired'),
    // false: an earlier run expired it; the movement is that run's.
    first: Type.Boolean(),
    movement: Type.Object(
      {
        action: Type.Union([
          Type.Literal('released'),
          Type.Literal('captured'),
          Type.Literal('hold_not_found'),
        ]),
        program: Type.Optional(Type.Union([Type.Literal('business'), Type.Literal('personal')])),
        released_minor: Type.Integer({ minimum: 0 }),
        captured_minor: Type.Integer({ minimum: 0 }),
        counter_deltas: Type.Array(CountedSchema),
        balance_delta: BalanceDeltaSchema,
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type ExpiryResult = Static<typeof ExpiryReplySchema>;
const hold_check = TypeCompiler.Compile(HoldSchema);

// Longer than the sweep can take to commit what the script did (it retries every interval).
export const expiry_marker_ttl_s = 30 * 24 * 60 * 60;

// A hold that holds nothing any more (reversed, cleared, expired) is kept this long and then
// goes (lib.lua store_hold). Networks present clearings within about 30 days of the
// authorization: within that, a late clearing finds the purchase (counted once, not as a new
// force post) and a late advice is netted against it. Past it Redis keeps nothing of it; without
// a bound it would keep every hold ever approved.
export const closed_hold_ttl_s = 30 * 24 * 60 * 60;

export interface HoldScripts {
  // Ends the hold of `jit_token` (the authorization's first token) as its on_expiry says.
  expireHold(user_token: string, card_token: string, jit_token: string): Promise<ExpiryResult>;
  // A hold rebuilt from the data of record after Redis lost it: written only where there is
  // none (a live hold is newer than any rebuild). True when written.
  restoreHold(hold: Hold): Promise<boolean>;
  // Writes `values` into the hash only if `expected` still describes it ('' = absent field).
  compareAndSetHash(
    key: string,
    expected: Readonly<Record<string, string>>,
    values: Readonly<Record<string, string>>,
  ): Promise<boolean>;
}

const expire_hold_script = defineScript({
  file: 'expire_hold.lua',
  keys: 4,
  encode: (input: { jit_token: string; card_token: string }): ScriptArgument[] => [
    input.jit_token,
    input.card_token,
    expiry_marker_ttl_s,
    closed_hold_ttl_s,
  ],
  decode: replyParser('expire_hold', ExpiryReplySchema),
});

const hash_compare_and_set_script = defineScript({
  file: 'hash_compare_and_set.lua',
  keys: 1,
  encode: (input: {
    expected: Readonly<Record<string, string>>;
    values: Readonly<Record<string, string>>;
  }): ScriptArgument[] => {
    const fields = Object.keys(input.expected);
    const args: ScriptArgument[] = [fields.length, ...fields, ...fields.map((f) => input.expected[f] ?? '')];
    for (const [field, value] of Object.entries(input.values)) args.push(field, value);
    return args;
  },
  decode: (reply: unknown): boolean => {
    if (reply !== 0 && reply !== 1) throw new CardStateReplyError(`hash_compare_and_set: ${String(reply)}`);
    return reply === 1;
  },
});

const hold_specs = {
  expireHold: { ...expire_hold_script, with_lib: true },
  compareAndSetHash: { ...hash_compare_and_set_script, with_lib: false },
} as const;

export async function defineHoldScripts(client: RedisClient, partitions: number): Promise<HoldScripts> {
  const scripts = await defineScriptSet(client, hold_specs);
  return {
    async expireHold(user_token, card_token, jit_token) {
      const keys = cardStateKeys(user_token, card_token, partitions);
      const jit = checkToken('jit_token', jit_token);
      return scripts.expireHold(
        [keys.holdKey(jit), keys.cardCounters, keys.userBalance, keys.expiryKey(jit)],
        { jit_token: jit, card_token },
      );
    },
    async restoreHold(hold) {
      if (!hold_check.Check(hold)) {
        const first = hold_check.Errors(hold).First();
        throw new CardStateInvalidError(`hold: ${first?.path} ${first?.message}`);
      }
      const key = cardStateKeys(hold.user_token, hold.card_token, partitions).holdKey(hold.jit_token);
      const json = JSON.stringify(hold);
      if (hold.amount_minor > 0) return (await client.set(key, json, 'NX')) === 'OK';
      return (await client.set(key, json, 'EX', closed_hold_ttl_s, 'NX')) === 'OK';
    },
    async compareAndSetHash(key, expected, values) {
      assert.ok(
        Object.keys(expected).length > 0 && Object.keys(values).length > 0,
        'compare and set something',
      );
      return scripts.compareAndSetHash([key], { expected, values });
    },
  };
}
