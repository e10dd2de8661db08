import assert from 'node:assert/strict';
import { RedisKeyError } from './errors.ts';

// The partitioned key schema (the table is in README.md). Every key of one cardholder starts
// with the hash tag `{p}`, p = partitionOf(user_token): one Lua script may touch all of them,
// on one Redis today and on a Redis Cluster tomorrow.

export const default_partitions = 64;

// Redis Cluster has 16384 slots: more partitions than that could not all be told apart.
const max_partitions = 16_384;

// Tokens are ours or Marqeta's (at most 36 characters there). Letters, digits, '-', '_', '.':
// no braces (they would make a hash tag), no ':' (it separates key parts), nothing to escape.
const token_pattern = /^[A-Za-z0-9._-]{1,128}$/;

export function assertToken(name: string, token: string): string {
  if (!token_pattern.test(token)) {
    throw new RedisKeyError(`${name} must be 1 to 128 of A-Z a-z 0-9 . _ - (got ${JSON.stringify(token)})`);
  }
  return token;
}

const fnv_offset_basis = 0x811c9dc5;
const fnv_prime = 0x01000193;

// FNV-1a, 32 bits, over the UTF-8 bytes: simple to reproduce in any language (vectors in the
// README and the tests).
export function fnv1a32(input: string): number {
  let hash = fnv_offset_basis;
  for (const byte of Buffer.from(input, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, fnv_prime) >>> 0;
  }
  return hash >>> 0;
}

function assertPartitions(partitions: number): void {
  assert.ok(
    Number.isSafeInteger(partitions) && partitions >= 1 && partitions <= max_partitions,
    'bad partitions',
  );
}

// p = fnv1a32(utf8(user_token)) mod partitions. P is fixed for a deployment: changing it moves
// every cardholder to another partition (a rebuild of Redis from the data of record).
export function partitionOf(user_token: string, partitions: number = default_partitions): number {
  assertPartitions(partitions);
  return fnv1a32(assertToken('user_token', user_token)) % partitions;
}

export function hashTag(partition: number): string {
  assert.ok(Number.isSafeInteger(partition) && partition >= 0 && partition < max_partitions, 'bad partition');
  return `{${partition}}`;
}

// The relay walks partitions 0..P-1 without knowing any user.
export function outboxKey(partition: number): string {
  return `${hashTag(partition)}:outbox`;
}

export type CounterWindow = 'day' | 'week' | 'month';

export interface CounterWindowInfo {
  // UTC date the window starts on, YYYYMMDD: part of the key, so a new window is a new key.
  readonly start: string;
  readonly start_ms: number;
  readonly end_ms: number;
  // When the counter key may go: after the window closed plus a grace period, so it can never
  // expire while it is counting, and late reversals of the window still find it.
  readonly expire_at_ms: number;
}

export const counter_grace_ms = 2 * 24 * 60 * 60 * 1000;
const day_ms = 24 * 60 * 60 * 1000;

// UTC windows: day, ISO week (starts Monday), calendar month.
export function counterWindow(window: CounterWindow, at: Date): CounterWindowInfo {
  const at_ms = at.getTime();
  assert.ok(Number.isFinite(at_ms), 'bad date');
  const day_start_ms = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
  let start_ms: number;
  let end_ms: number;
  if (window === 'day') {
    start_ms = day_start_ms;
    end_ms = start_ms + day_ms;
  } else if (window === 'week') {
    const days_since_monday = (at.getUTCDay() + 6) % 7;
    start_ms = day_start_ms - days_since_monday * day_ms;
    end_ms = start_ms + 7 * day_ms;
  } else {
    start_ms = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1);
    end_ms = Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1);
  }
  const start = new Date(start_ms).toISOString().slice(0, 10).replaceAll('-', '');
  return { start, start_ms, end_ms, expire_at_ms: end_ms + counter_grace_ms };
}

// Every key of one cardholder, their cards, holds and decisions. Built once per request.
export interface UserKeyspace {
  readonly partition: number;
  readonly tag: string;
  readonly cardholderState: string;
  readonly outbox: string;
  cardState(card_token: string): string;
  cardControls(card_token: string): string;
  cardLoaderLock(card_token: string): string;
  cardCounter(card_token: string, window: CounterWindow, at: Date): string;
  userCounter(window: CounterWindow, at: Date): string;
  hold(jit_token: string): string;
  decision(jit_token: string): string;
}

export function userKeyspace(user_token: string, partitions: number = default_partitions): UserKeyspace {
  const partition = partitionOf(user_token, partitions);
  const tag = hashTag(partition);
  const card = (card_token: string) => `${tag}:card:${assertToken('card_token', card_token)}`;
  return {
    partition,
    tag,
    cardholderState: `${tag}:user:${user_token}:state`,
    outbox: outboxKey(partition),
    cardState: (card_token) => `${card(card_token)}:state`,
    cardControls: (card_token) => `${card(card_token)}:controls`,
    cardLoaderLock: (card_token) => `${card(card_token)}:loader`,
    cardCounter: (card_token, window, at) =>
      `${card(card_token)}:ctr:${window}:${counterWindow(window, at).start}`,
    userCounter: (window, at) => `${tag}:user:${user_token}:ctr:${window}:${counterWindow(window, at).start}`,
    hold: (jit_token) => `${tag}:hold:${assertToken('jit_token', jit_token)}`,
    decision: (jit_token) => `${tag}:decision:${assertToken('jit_token', jit_token)}`,
  };
}
