import { assertToken, hashTag, outboxKey, partitionOf } from '@afc/redis';
import { CardStateInvalidError } from './errors.ts';

// Every key of one cardholder, their cards, holds and decisions shares the hash tag {p},
// p = partitionOf(user_token): one script may touch all of them, on one Redis or a Cluster.
// Names are before the client's key_prefix (ioredis adds it to KEYS). No script builds a key.
export interface CardStateKeys {
  readonly partition: number;
  readonly tag: string;
  // string JSON: domain CardState, or the tombstone {"unknown":true} (short TTL).
  readonly cardState: string;
  // string JSON: domain SpendingControls + version.
  readonly cardControls: string;
  // string JSON: domain Cardholder + version, or the tombstone {"unknown":true}.
  readonly cardholderState: string;
  // hash: day_start, day_amount, day_count, week_*, month_*, loaded.
  readonly cardCounters: string;
  // hash: available, held, loaded (personal cardholders).
  readonly userBalance: string;
  // stream: field `event` = OutboxEvent JSON.
  readonly outbox: string;
  // string JSON: domain Hold, by the first JIT token of the authorization.
  holdKey(jit_token: string): string;
  // string JSON: StoredDecision and/or the applied marker, TTL decision_ttl_s.
  decisionKey(jit_token: string): string;
  // string JSON: the movement the hold of this JIT token made when it expired (TTL).
  expiryKey(jit_token: string): string;
}

// assertToken's RedisKeyError becomes ours: callers of this package match one set of codes.
export function checkToken(name: string, token: unknown): string {
  if (typeof token !== 'string') throw new CardStateInvalidError(`${name} must be a string`);
  try {
    return assertToken(name, token);
  } catch (error) {
    throw new CardStateInvalidError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

// The keys of one cardholder that no card names.
export interface UserStateKeys {
  readonly partition: number;
  readonly tag: string;
  readonly cardholderState: string;
  readonly userBalance: string;
  readonly outbox: string;
  holdKey(jit_token: string): string;
  decisionKey(jit_token: string): string;
  // string marker: this wallet deposit reached the balance (TTL).
  creditKey(deposit_id: string): string;
  // string JSON: the movement the hold of this JIT token made when it expired (TTL).
  expiryKey(jit_token: string): string;
}

export function userStateKeys(user_token: string, partitions: number): UserStateKeys {
  const user = checkToken('user_token', user_token);
  const partition = partitionOf(user, partitions);
  const tag = hashTag(partition);
  return {
    partition,
    tag,
    cardholderState: `${tag}:user:${user}:state`,
    userBalance: `${tag}:user:${user}:balance`,
    outbox: outboxKey(partition),
    holdKey: (jit_token) => `${tag}:hold:${checkToken('jit_token', jit_token)}`,
    decisionKey: (jit_token) => `${tag}:decision:${checkToken('jit_token', jit_token)}`,
    creditKey: (deposit_id) => `${tag}:credit:${checkToken('deposit_id', deposit_id)}`,
    expiryKey: (jit_token) => `${tag}:expiry:${checkToken('jit_token', jit_token)}`,
  };
}

export function cardStateKeys(user_token: string, card_token: string, partitions: number): CardStateKeys {
  const user = userStateKeys(user_token, partitions);
  const card = `${user.tag}:card:${checkToken('card_token', card_token)}`;
  return {
    ...user,
    cardState: `${card}:state`,
    cardControls: `${card}:controls`,
    cardCounters: `${card}:counters`,
  };
}
