import assert from 'node:assert/strict';
import type { Hold } from '@afc/domain';
import type { RedisClient } from '@afc/redis';
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { CardStateInvalidError, CardStateReplyError, errorFromReply } from './errors.ts';
import { cardStateKeys, checkToken } from './keys.ts';
import { BalanceDeltaSchema, CountedSchema, HoldSchema } from './schemas.ts';
import { loadLua } from './scripts.ts';

// Registered apart from scripts.ts (the decide/apply set): only settlement expires holds and
// reconciles totals, so only it pays for loading these scripts.

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
const expiry_reply = TypeCompiler.Compile(ExpiryReplySchema);
const hold_check = TypeCompiler.Compile(HoldSchema);

// Longer than the sweep can take to commit what the script did (it retries every interval).
export const expiry_marker_ttl_s = 30 * 24 * 60 * 60;

export interface HoldScripts {
  // Ends the hold of `jit_token` (the authorization's first token) as its on_expiry says.
  expireHold(user_token: string, card_token: string, jit_token: string): Promise<ExpiryResult>;
  // Writes `values` into the hash only if `expected` still describes it ('' = absent field).
  // A hold rebuilt from the data of record after Redis lost it: written only where there is
  // none (a live hold is newer than any rebuild). True when written.
  restoreHold(hold: Hold): Promise<boolean>;
  compareAndSetHash(
    key: string,
    expected: Readonly<Record<string, string>>,
    values: Readonly<Record<string, string>>,
  ): Promise<boolean>;
}

type Command = (...args: (string | number)[]) => Promise<unknown>;

function commandOf(client: RedisClient, name: string): Command {
  const command = (client as unknown as Record<string, Command>)[name];
  assert.ok(typeof command === 'function', name);
  return command.bind(client);
}

async function call(name: string, command: Command, args: (string | number)[]): Promise<unknown> {
  try {
    return await command(...args);
  } catch (error) {
    if (error instanceof Error && error.name === 'ReplyError')
      throw errorFromReply(name, error.message, error);
    throw error;
  }
}

function parseExpiry(reply: unknown): ExpiryResult {
  if (typeof reply !== 'string') throw new CardStateReplyError('expire_hold: reply is not a string');
  const value: unknown = JSON.parse(reply);
  if (!expiry_reply.Check(value)) throw new CardStateReplyError(`expire_hold: unexpected reply ${reply}`);
  return value;
}

export async function defineHoldScripts(client: RedisClient, partitions: number): Promise<HoldScripts> {
  client.defineCommand('afc_card_state_expireHold', {
    lua: await loadLua('expire_hold.lua', true),
    numberOfKeys: 4,
  });
  client.defineCommand('afc_card_state_compareAndSetHash', {
    lua: await loadLua('hash_compare_and_set.lua', false),
    numberOfKeys: 1,
  });
  const expire = commandOf(client, 'afc_card_state_expireHold');
  const cas = commandOf(client, 'afc_card_state_compareAndSetHash');
  return {
    async expireHold(user_token, card_token, jit_token) {
      const keys = cardStateKeys(user_token, card_token, partitions);
      const jit = checkToken('jit_token', jit_token);
      const marker = `${keys.tag}:expiry:${jit}`;
      const args = [
        keys.holdKey(jit),
        keys.cardCounters,
        keys.userBalance,
        marker,
        jit,
        card_token,
        expiry_marker_ttl_s,
      ];
      return parseExpiry(await call('expire_hold', expire, args));
    },
    async restoreHold(hold) {
      if (!hold_check.Check(hold)) {
        const first = hold_check.Errors(hold).First();
        throw new CardStateInvalidError(`hold: ${first?.path} ${first?.message}`);
      }
      const key = cardStateKeys(hold.user_token, hold.card_token, partitions).holdKey(hold.jit_token);
      return (await client.set(key, JSON.stringify(hold), 'NX')) === 'OK';
    },
    async compareAndSetHash(key, expected, values) {
      const fields = Object.keys(expected);
      assert.ok(fields.length > 0 && Object.keys(values).length > 0, 'compare and set something');
      const args = [key, fields.length, ...fields, ...fields.map((f) => expected[f] ?? '')];
      for (const [field, value] of Object.entries(values)) args.push(field, value);
      const reply = await call('hash_compare_and_set', cas, args);
      if (reply !== 0 && reply !== 1) throw new CardStateReplyError(`hash_compare_and_set: ${String(reply)}`);
      return reply === 1;
    },
  };
}
