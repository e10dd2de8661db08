import assert from 'node:assert/strict';
import { RedisScriptError } from './errors.ts';
import { defineScript, type ScriptArgument, type Scripts } from './scripts.ts';

// A document the control plane writes through to Redis. `version` grows with every change of
// the row it comes from (e.g. a counter bumped in the same transaction): a safe integer.
export interface VersionedDocument {
  readonly version: number;
  readonly [member: string]: unknown;
}

// 'string': the key holds the JSON text (nested documents such as card controls, decoded with
// cjson by scripts). 'hash': one field per top-level member, read field by field by scripts:
// strings as they are, other values as their JSON text, null and undefined members omitted.
export type DocumentStorage = 'string' | 'hash';

export interface WriteIfNewerInput {
  readonly storage: DocumentStorage;
  readonly document: VersionedDocument;
}

export interface WriteIfNewerResult {
  readonly written: boolean;
  // The version in Redis after the call: the document's own when written, else the newer one.
  readonly stored_version: number;
}

// Lua's unpack() takes a few thousand values at most; our documents have tens of members.
const max_hash_members = 1_000;

export function toHashFields(document: VersionedDocument): string[] {
  const fields: string[] = [];
  for (const [member, value] of Object.entries(document)) {
    if (value === null || value === undefined) continue;
    assert.ok(typeof value !== 'number' || Number.isFinite(value), `member ${member} is not a finite number`);
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    assert.ok(typeof text === 'string', `member ${member} has no JSON form`);
    fields.push(member, text);
  }
  assert.ok(fields.length / 2 <= max_hash_members, 'too many members for a hash document');
  return fields;
}

function encode(input: WriteIfNewerInput): ScriptArgument[] {
  const { version } = input.document;
  assert.ok(Number.isSafeInteger(version) && version >= 0, 'version must be a non-negative safe integer');
  const body = input.storage === 'string' ? [JSON.stringify(input.document)] : toHashFields(input.document);
  return [input.storage, String(version), ...body];
}

function decode(reply: unknown): WriteIfNewerResult {
  if (!Array.isArray(reply) || reply.length !== 2) {
    throw new RedisScriptError(`write_if_newer: unexpected reply ${JSON.stringify(reply)}`);
  }
  const [written, stored_version] = reply as unknown[];
  if ((written !== 0 && written !== 1) || typeof stored_version !== 'number') {
    throw new RedisScriptError(`write_if_newer: unexpected reply ${JSON.stringify(reply)}`);
  }
  return { written: written === 1, stored_version };
}

// KEYS: [document key]. Writes only when the document's version is newer than the stored one.
export const write_if_newer = defineScript({ file: 'write_if_newer.lua', keys: 1, encode, decode });

// The scripts this package ships: `await defineScripts(client, core_scripts)`.
export const core_scripts = { writeIfNewer: write_if_newer } as const;
export type CoreScripts = Scripts<typeof core_scripts>;
