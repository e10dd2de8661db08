import type { Balance, CardState, Hold, WindowCounters } from '@afc/domain';
import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { CardStateCorruptError } from './errors.ts';
import {
  CardDocumentSchema,
  CardholderDocumentSchema,
  ControlsDocumentSchema,
  DecisionRecordSchema,
  HoldSchema,
  type VersionedCardholder,
  type VersionedControls,
} from './schemas.ts';

// What readState returns: the real-time state of one card and its cardholder, for tests,
// reconciliation and support tools. null: not loaded. 'unknown': the loader's tombstone.
// Balance 'none': loaded, but the data of record has no wallet for the cardholder.
export interface StoredState {
  readonly card: CardState | 'unknown' | null;
  readonly controls: VersionedControls | null;
  readonly cardholder: VersionedCardholder | 'unknown' | null;
  readonly counters: WindowCounters | null;
  readonly balance: Balance | 'none' | null;
}

export type DecisionRecord = Static<typeof DecisionRecordSchema>;

function parseJson<S extends TSchema>(what: string, schema: S, text: string): Static<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CardStateCorruptError(`${what} is not JSON`, { cause: error });
  }
  if (!Value.Check(schema, value))
    throw new CardStateCorruptError(`${what} has an unexpected shape: ${text}`);
  return value;
}

function isTombstone(text: string): boolean {
  return text === JSON.stringify({ unknown: true });
}

export function parseHold(text: string): Hold {
  return parseJson('hold', HoldSchema, text);
}

export function parseDecisionRecord(text: string): DecisionRecord {
  return parseJson('decision record', DecisionRecordSchema, text);
}

function integerField(hash: Record<string, string>, field: string): number {
  const value = Number(hash[field]);
  if (!Number.isSafeInteger(value)) throw new CardStateCorruptError(`field ${field} is not an integer`);
  return value;
}

function parseCounters(hash: Record<string, string>): WindowCounters | null {
  if (hash.loaded === undefined) return null;
  const window = (name: string) => ({
    start: integerField(hash, `${name}_start`),
    amount_minor: integerField(hash, `${name}_amount`),
    count: integerField(hash, `${name}_count`),
  });
  return { day: window('day'), week: window('week'), month: window('month') };
}

function parseBalance(hash: Record<string, string>): Balance | 'none' | null {
  if (hash.loaded === undefined) return null;
  if (hash.available === undefined) return 'none';
  return { available_minor: integerField(hash, 'available'), held_minor: integerField(hash, 'held') };
}

function maybe<T>(text: unknown, parse: (text: string) => T): T | null {
  if (text === null || text === undefined) return null;
  if (typeof text !== 'string') throw new CardStateCorruptError('expected a string value');
  return parse(text);
}

// values: GET card, GET controls, GET cardholder, HGETALL counters, HGETALL balance.
export function parseStoredState(values: readonly unknown[]): StoredState {
  const [card, controls, cardholder, counters, balance] = values;
  return {
    card: maybe(card, (t) => (isTombstone(t) ? 'unknown' : parseJson('card', CardDocumentSchema, t))),
    controls: maybe(controls, (t) => parseJson('controls', ControlsDocumentSchema, t)),
    cardholder: maybe(cardholder, (t) =>
      isTombstone(t) ? 'unknown' : parseJson('cardholder', CardholderDocumentSchema, t),
    ),
    counters: parseCounters((counters ?? {}) as Record<string, string>),
    balance: parseBalance((balance ?? {}) as Record<string, string>),
  };
}
