import assert from 'node:assert/strict';
import type { Balance, CardState, Hold, RefundMode, WindowCounters } from '@afc/domain';
import { refund_modes } from '@afc/domain';
import type { Logger } from '@afc/log';
import { coalesceTurnWrites, outboxKey, type RedisClient } from '@afc/redis';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { CardStateCorruptError, CardStateInvalidError } from './errors.ts';
import { closed_hold_ttl_s } from './hold-expiry.ts';
import { type CardStateKeys, cardStateKeys, userStateKeys } from './keys.ts';
import {
  type ApplyRequest,
  applyArgument,
  type DecideRequest,
  decideArgument,
  type ReleaseRequest,
  type RestoreRequest,
  type Retention,
  releaseArgument,
  restoreArgument,
} from './requests.ts';
import {
  BalanceDocumentSchema,
  CardDocumentSchema,
  CardholderDocumentSchema,
  ControlsDocumentSchema,
  CountersDocumentSchema,
  type VersionedCardholder,
  type VersionedControls,
} from './schemas.ts';
import {
  type ApplyResult,
  type CardStateScripts,
  type CreditOutcome,
  type DecideResult,
  defineCardStateScripts,
  type ReleaseResult,
  type RestoreResult,
} from './scripts.ts';
import {
  type DecisionRecord,
  parseDecisionRecord,
  parseHold,
  parseStoredState,
  type StoredState,
} from './stored.ts';

// Marqeta may repeat a JIT message for 7 days: a day more.
export const default_decision_ttl_s = 8 * 24 * 60 * 60;
// Entries of one partition's outbox stream past which decisions are declined outbox_full (about
// 20 MB of events per partition, 1.3 GB over 64: ten minutes of a broker outage at 2,000
// approvals a second). Size it to the Redis memory set aside for events.
export const default_outbox_max_events = 20_000;

export interface CardStateOptions {
  readonly redis: RedisClient;
  // P of partitionOf: fixed per deployment.
  readonly partitions: number;
  readonly decision_ttl_s?: number;
  // The outbox's bound, per partition stream (default_outbox_max_events): events wait there while
  // the broker is away, and Redis must not run out of memory for the holds and counters.
  readonly outbox_max_events?: number;
  // What a refund does to a business card's counters (domain RefundMode).
  readonly refund_mode: RefundMode;
  readonly logger: Logger;
  // The decide, apply and release scripts called in one turn of the event loop leave in one
  // socket write (@afc/redis coalesceTurnWrites): for a caller with many at once, the
  // authorizer. Default false: each call is written at once.
  readonly coalesce_turn_writes?: boolean;
}

export interface WriteResult {
  readonly written: boolean;
  readonly stored_version: number;
}

// A confirmed wallet deposit, as the data of record committed it.
export interface BalanceCredit {
  readonly user_token: string;
  readonly deposit_id: string;
  readonly amount_minor: number;
  // The wallet right after this deposit (its version, available and held).
  readonly wallet_version: number;
  readonly wallet: Balance;
}

// Longer than any retry of one deposit request; the API re-credits a repeat only within a day.
const credit_marker_ttl_s = 8 * 24 * 60 * 60;

export interface CardStateStore {
  readonly partitions: number;
  keys(user_token: string, card_token: string): CardStateKeys;
  decide(request: DecideRequest): Promise<DecideResult>;
  apply(request: ApplyRequest): Promise<ApplyResult>;
  releaseAfterTimeout(request: ReleaseRequest): Promise<ReleaseResult>;
  // Settlement: an authorization Marqeta approved that Redis knows nothing of (apply.lua restore).
  restoreApproval(request: RestoreRequest): Promise<RestoreResult>;
  writeCard(card: CardState): Promise<WriteResult>;
  writeControls(user_token: string, card_token: string, controls: VersionedControls): Promise<WriteResult>;
  writeCardholder(cardholder: VersionedCardholder): Promise<WriteResult>;
  writeCounters(user_token: string, card_token: string, counters: WindowCounters): Promise<boolean>;
  // wallet_version: the data of record's wallet version the balance was read at (creditBalance
  // compares it with a deposit's).
  writeBalance(user_token: string, balance: Balance | null, wallet_version?: number): Promise<boolean>;
  creditBalance(credit: BalanceCredit): Promise<CreditOutcome>;
  writeUnknownCard(user_token: string, card_token: string, ttl_s: number): Promise<boolean>;
  writeUnknownCardholder(user_token: string, ttl_s: number): Promise<boolean>;
  readState(user_token: string, card_token: string): Promise<StoredState>;
  readHold(user_token: string, jit_token: string): Promise<Hold | null>;
  readDecision(user_token: string, jit_token: string): Promise<DecisionRecord | null>;
  outboxKey(partition: number): string;
}

function checkDocument(what: string, schema: TSchema, value: unknown): void {
  if (!Value.Check(schema, value)) {
    const first = Value.Errors(schema, value).First();
    throw new CardStateInvalidError(`${what}: ${first?.path} ${first?.message}`);
  }
}

function checkTtl(ttl_s: number): number {
  if (!Number.isSafeInteger(ttl_s) || ttl_s <= 0)
    throw new CardStateInvalidError('ttl_s must be a positive integer');
  return ttl_s;
}

function checkVersion(version: number): void {
  if (!Number.isSafeInteger(version) || version < 0)
    throw new CardStateInvalidError('wallet_version must be a non-negative safe integer');
}

const tombstone = JSON.stringify({ unknown: true });

export async function createCardState(options: CardStateOptions): Promise<CardStateStore> {
  const decision_ttl_s = checkTtl(options.decision_ttl_s ?? default_decision_ttl_s);
  const retention: Retention = { decision_ttl_s, closed_hold_ttl_s };
  const outbox_max_events = options.outbox_max_events ?? default_outbox_max_events;
  assert.ok(Number.isSafeInteger(outbox_max_events) && outbox_max_events >= 1, 'outbox_max_events >= 1');
  assert.ok(refund_modes.includes(options.refund_mode), 'refund_mode');
  const { redis, partitions } = options;
  const scripts = await defineCardStateScripts(redis);
  const keys = (user_token: string, card_token: string) => cardStateKeys(user_token, card_token, partitions);
  const user_keys = (user_token: string) => userStateKeys(user_token, partitions);
  const coalesce = options.coalesce_turn_writes === true ? () => coalesceTurnWrites(redis) : () => {};
  return {
    partitions,
    keys,
    decide: async (request) => {
      coalesce();
      const k = keys(request.user_token, request.card_token);
      return decide(scripts, k, request, decideArgument(request, decision_ttl_s, outbox_max_events));
    },
    apply: async (request) => {
      coalesce();
      const k = keys(request.user_token, request.card_token);
      const result = await apply(scripts, k, request, retention, options.refund_mode);
      if (result.status === 'owner_mismatch') warnMismatch(options.logger, 'apply', request, result);
      return result;
    },
    releaseAfterTimeout: async (request) => {
      coalesce();
      const result = await release(scripts, keys(request.user_token, request.card_token), request, retention);
      if (result.status === 'owner_mismatch' || result.status === 'mismatch') {
        warnMismatch(options.logger, 'releaseAfterTimeout', request, result);
      }
      return result;
    },
    restoreApproval: async (request) => {
      coalesce();
      const k = keys(request.user_token, request.card_token);
      const result = await scripts.restore(
        [
          k.cardState,
          k.cardCounters,
          k.userBalance,
          k.decisionKey(request.jit_token),
          k.holdKey(request.jit_token),
          k.outbox,
        ],
        restoreArgument(request, retention, options.refund_mode),
      );
      if (result.status === 'owner_mismatch')
        warnMismatch(options.logger, 'restoreApproval', request, result);
      return result;
    },
    ...writers(redis, scripts, keys, user_keys),
    ...readers(redis, keys, user_keys),
    outboxKey: (partition) => outboxKey(partition),
  };
}

// Nothing was changed; the caller answers as usual, but someone must look: Marqeta linked a
// message to another card's authorization, or a token was reused with another amount.
function warnMismatch(
  logger: Logger,
  script: string,
  request: ApplyRequest | ReleaseRequest | RestoreRequest,
  result: object,
) {
  logger.warn(
    {
      script,
      jit_token: request.jit_token,
      original_jit_token: 'original_jit_token' in request ? request.original_jit_token : undefined,
      card_token: request.card_token,
      user_token: request.user_token,
      result,
    },
    'card-state: message does not match the stored state; nothing changed',
  );
}

async function decide(
  scripts: CardStateScripts,
  k: CardStateKeys,
  request: DecideRequest,
  argument: string,
): Promise<DecideResult> {
  // Most messages carry no original token: their hold key is the original's, built once.
  const hold = k.holdKey(request.jit_token);
  const original = request.original_jit_token === undefined ? hold : k.holdKey(request.original_jit_token);
  return scripts.decide(
    [
      k.cardState,
      k.cardControls,
      k.cardholderState,
      k.cardCounters,
      k.userBalance,
      k.decisionKey(request.jit_token),
      hold,
      original,
      k.outbox,
    ],
    argument,
  );
}

async function apply(
  scripts: CardStateScripts,
  k: CardStateKeys,
  request: ApplyRequest,
  retention: Retention,
  refund_mode: RefundMode,
): Promise<ApplyResult> {
  const argument = applyArgument(request, retention, refund_mode);
  const hold = k.holdKey(request.original_jit_token ?? request.jit_token);
  return scripts.apply(
    [k.cardState, k.cardCounters, k.userBalance, k.decisionKey(request.jit_token), hold, k.outbox],
    argument,
  );
}

async function release(
  scripts: CardStateScripts,
  k: CardStateKeys,
  request: ReleaseRequest,
  retention: Retention,
): Promise<ReleaseResult> {
  const argument = releaseArgument(request, retention);
  const hold = k.holdKey(request.original_jit_token ?? request.jit_token);
  return scripts.release(
    [k.decisionKey(request.jit_token), hold, k.cardCounters, k.userBalance, k.outbox],
    argument,
  );
}

type Keys = (user_token: string, card_token: string) => CardStateKeys;
type UserKeys = (user_token: string) => ReturnType<typeof userStateKeys>;

function counterFields(counters: WindowCounters): string[] {
  const fields: string[] = [];
  for (const window of ['day', 'week', 'month'] as const) {
    const w = counters[window];
    fields.push(`${window}_start`, String(w.start), `${window}_amount`, String(w.amount_minor));
    fields.push(`${window}_count`, String(w.count));
  }
  return [...fields, 'loaded', '1'];
}

// The loader's and the control plane's write-through. Versioned documents never regress;
// counters and wallets are written once per load (`loaded`), never over live totals.
function writers(redis: RedisClient, scripts: CardStateScripts, keys: Keys, user_keys: UserKeys) {
  return {
    writeCard: async (card: CardState) => {
      checkDocument('card', CardDocumentSchema, card);
      const json = JSON.stringify(card);
      return scripts.writeVersioned([keys(card.user_token, card.card_token).cardState], {
        version: card.version,
        json,
      });
    },
    writeControls: async (user_token: string, card_token: string, controls: VersionedControls) => {
      checkDocument('controls', ControlsDocumentSchema, controls);
      const json = JSON.stringify(controls);
      const key = keys(user_token, card_token).cardControls;
      return scripts.writeVersioned([key], { version: controls.version, json });
    },
    writeCardholder: async (cardholder: VersionedCardholder) => {
      checkDocument('cardholder', CardholderDocumentSchema, cardholder);
      const key = user_keys(cardholder.user_token).cardholderState;
      return scripts.writeVersioned([key], { version: cardholder.version, json: JSON.stringify(cardholder) });
    },
    writeCounters: async (user_token: string, card_token: string, counters: WindowCounters) => {
      checkDocument('counters', CountersDocumentSchema, counters);
      const key = keys(user_token, card_token).cardCounters;
      return scripts.writeIfUnloaded([key], { guard: 'loaded', fields: counterFields(counters) });
    },
    writeBalance: async (user_token: string, balance: Balance | null, wallet_version?: number) => {
      if (balance !== null) checkDocument('balance', BalanceDocumentSchema, balance);
      if (wallet_version !== undefined) checkVersion(wallet_version);
      const version = wallet_version === undefined ? [] : ['wallet_version', String(wallet_version)];
      const fields =
        balance === null
          ? ['loaded', '1']
          : [
              'available',
              String(balance.available_minor),
              'held',
              String(balance.held_minor),
              'loaded',
              '1',
              ...version,
            ];
      // A wallet found later in the data of record may replace "loaded, none"; never live totals.
      return scripts.writeIfUnloaded([user_keys(user_token).userBalance], { guard: 'available', fields });
    },
    // Exactly once per deposit, whatever the order against a loader's read (see the script).
    creditBalance: async (credit: BalanceCredit) => {
      checkDocument('balance', BalanceDocumentSchema, credit.wallet);
      checkVersion(credit.wallet_version);
      if (!Number.isSafeInteger(credit.amount_minor) || credit.amount_minor <= 0)
        throw new CardStateInvalidError('amount_minor must be a positive safe integer');
      const k = user_keys(credit.user_token);
      return scripts.creditBalance([k.userBalance, k.creditKey(credit.deposit_id)], {
        amount_minor: credit.amount_minor,
        wallet_version: credit.wallet_version,
        available_minor: credit.wallet.available_minor,
        held_minor: credit.wallet.held_minor,
        ttl_s: credit_marker_ttl_s,
      });
    },
    // Negative cache: NX, so a tombstone never hides a card written meanwhile.
    writeUnknownCard: async (user_token: string, card_token: string, ttl_s: number) => {
      const key = keys(user_token, card_token).cardState;
      return (await redis.set(key, tombstone, 'EX', checkTtl(ttl_s), 'NX')) === 'OK';
    },
    writeUnknownCardholder: async (user_token: string, ttl_s: number) => {
      const key = user_keys(user_token).cardholderState;
      return (await redis.set(key, tombstone, 'EX', checkTtl(ttl_s), 'NX')) === 'OK';
    },
  };
}

function readers(redis: RedisClient, keys: Keys, user_keys: UserKeys) {
  return {
    readState: async (user_token: string, card_token: string): Promise<StoredState> => {
      const k = keys(user_token, card_token);
      // One MULTI on one slot: a consistent snapshot.
      const replies = await redis
        .multi()
        .get(k.cardState)
        .get(k.cardControls)
        .get(k.cardholderState)
        .hgetall(k.cardCounters)
        .hgetall(k.userBalance)
        .exec();
      if (replies === null) throw new CardStateCorruptError('readState: transaction aborted');
      const values = replies.map(([error, value]) => {
        if (error) throw error;
        return value;
      });
      return parseStoredState(values);
    },
    readHold: async (user_token: string, jit_token: string): Promise<Hold | null> => {
      const text = await redis.get(user_keys(user_token).holdKey(jit_token));
      return text === null ? null : parseHold(text);
    },
    readDecision: async (user_token: string, jit_token: string): Promise<DecisionRecord | null> => {
      const text = await redis.get(user_keys(user_token).decisionKey(jit_token));
      return text === null ? null : parseDecisionRecord(text);
    },
  };
}
