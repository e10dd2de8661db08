import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { RedisClient } from './create-redis.ts';
import { RedisScriptError } from './errors.ts';

// Lua scripts live as .lua files in packages/redis/lua/, beside src/ and dist/: '../lua/' from
// this module finds them both from the TypeScript source and from the compiled dist/.
export const lua_directory = new URL('../lua/', import.meta.url);

export type ScriptArgument = string | number;

// N string keys, as a tuple type: keys: 2 gives [string, string].
export type KeyTuple<N extends number, Acc extends readonly string[] = []> = number extends N
  ? readonly string[]
  : Acc['length'] extends N
    ? Acc
    : KeyTuple<N, readonly [...Acc, string]>;

// One script: its file, how many KEYS it takes, how a typed input becomes ARGV and how the
// raw reply becomes a typed result. The decoder checks the reply's shape: a script and its
// caller can drift apart, and a wrong shape must fail loudly, not be misread.
export interface ScriptSpec<Keys extends number, Input, Output> {
  readonly file: string;
  readonly keys: Keys;
  readonly encode: (input: Input) => readonly ScriptArgument[];
  readonly decode: (reply: unknown) => Output;
}

// Infers the literal key count; spell the input and output types on encode and decode.
export function defineScript<Keys extends number, Input, Output>(
  spec: ScriptSpec<Keys, Input, Output>,
): ScriptSpec<Keys, Input, Output> {
  return spec;
}

// biome-ignore lint/suspicious/noExplicitAny: the input type is contravariant; any spec fits here.
export type AnyScriptSpec = ScriptSpec<number, any, unknown>;

export type ScriptFunction<S> =
  S extends ScriptSpec<infer Keys, infer Input, infer Output>
    ? (keys: KeyTuple<Keys>, input: Input) => Promise<Output>
    : never;

export type Scripts<Specs extends Record<string, AnyScriptSpec>> = {
  readonly [Name in keyof Specs]: ScriptFunction<Specs[Name]>;
};

type ScriptCommand = (...args: ScriptArgument[]) => Promise<unknown>;

// Where another package's scripts come from, for its own lua/ folder and errors.
export interface ScriptSource<Spec extends AnyScriptSpec> {
  // The Lua registered for a spec (e.g. its file with a shared library prepended).
  readonly read: (spec: Spec) => Promise<string>;
  // ioredis command names are `${command_prefix}${name}`: one client carries several sets.
  readonly command_prefix: string;
  // A script's own error reply as the caller's coded error.
  readonly reply_error: (name: string, error: Error) => Error;
}

const own_source: ScriptSource<AnyScriptSpec> = {
  read: (spec) => readFile(new URL(spec.file, lua_directory), 'utf8'),
  command_prefix: 'afc_',
  reply_error: (name, error) =>
    new RedisScriptError(`script ${name} failed: ${error.message}`, { cause: error }),
};

// Reads each script (at startup, once; from this package's lua/ unless a source says
// otherwise) and registers it with ioredis' defineCommand: calls go out as EVALSHA, and ioredis
// falls back to EVAL when the server answers NOSCRIPT (a restart or SCRIPT FLUSH), so scripts
// never need loading by hand. The returned functions are the typed surface; the ioredis
// command names are not.
export async function defineScripts<Specs extends Record<string, AnyScriptSpec>>(
  client: RedisClient,
  specs: Specs,
  source: ScriptSource<Specs[keyof Specs]> = own_source,
): Promise<Scripts<Specs>> {
  const functions: Record<string, (keys: readonly string[], input: unknown) => Promise<unknown>> = {};
  for (const [name, spec] of Object.entries(specs) as [string, Specs[keyof Specs]][]) {
    assert.match(spec.file, /^[a-z0-9_]+\.lua$/, 'script files are plain names inside lua/');
    assert.ok(Number.isSafeInteger(spec.keys) && spec.keys >= 0);
    const lua = await source.read(spec);
    const command_name = `${source.command_prefix}${name}`;
    client.defineCommand(command_name, { lua, numberOfKeys: spec.keys });
    const command = (client as unknown as Record<string, ScriptCommand>)[command_name];
    assert.ok(typeof command === 'function');
    functions[name] = async (keys, input) => {
      assert.equal(keys.length, spec.keys, `${name} takes ${spec.keys} keys`);
      const args = spec.encode(input);
      let reply: unknown;
      try {
        reply = await command.call(client, ...keys, ...args);
      } catch (error) {
        // The script's own error replies get the caller's code; transport failures (timeout,
        // disconnected) stay ioredis' own errors: the script may or may not have run.
        if (error instanceof Error && error.name === 'ReplyError') throw source.reply_error(name, error);
        throw error;
      }
      return spec.decode(reply);
    };
  }
  return functions as Scripts<Specs>;
}
