import { Writable } from 'node:stream';
import {
  type Balance,
  type Cardholder,
  type CardState,
  currentCounters,
  type SpendingControls,
  type WindowCounters,
} from '@afc/domain';
import { createLogger, type Logger } from '@afc/log';
import { closeRedis, createRedis, type RedisClient, waitReady } from '@afc/redis';
import { localServiceUrls } from '@afc/testkit';
import { Value } from '@sinclair/typebox/value';
import { expect } from 'vitest';
import {
  type ApplyRequest,
  type CardStateStore,
  createCardState,
  type DecideRequest,
  OutboxEvent,
  outbox_event_prefix,
  type ReleaseMemo,
  type ReleaseRequest,
} from '../src/index.ts';

// A logger whose lines the test can read.
export function captureLogger(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      raw.push(String(chunk));
      callback();
    },
  });
  const logger = createLogger({ name: 'card-state-test', level: 'debug', destination });
  return { logger, lines: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

export const client_options = {
  command_timeout_ms: 5_000,
  max_retries_per_request: 1,
  connect_timeout_ms: 2_000,
} as const;

export async function sharedRedis(key_prefix: string): Promise<RedisClient> {
  const client = createRedis(
    { url: localServiceUrls.redis, key_prefix, ...client_options },
    captureLogger().logger,
  );
  await waitReady(client, 10_000);
  return client;
}

export async function closeClients(clients: readonly RedisClient[]): Promise<void> {
  await Promise.all(clients.map((client) => closeRedis(client, 2_000)));
}

export const partitions = 64;

export function storeOn(
  redis: RedisClient,
  refund_mode: 'counters_unchanged' | 'restore_counters' = 'counters_unchanged',
  logger: Logger = captureLogger().logger,
  coalesce_turn_writes = false,
): Promise<CardStateStore> {
  return createCardState({ redis, partitions, refund_mode, logger, coalesce_turn_writes });
}

// Monday 2024-03-11 09:00 UTC.
export const now_ms = Date.parse('2024-03-11T09:00:00Z');
export const day_ms = 86_400_000;

export const business_card: CardState = {
  card_token: 'card-b',
  user_token: 'user-b',
  program: 'business',
  state: 'active',
  expiration_year: 2027,
  expiration_month: 6,
  currency: 'USD',
  version: 3,
};
export const business_holder: Cardholder = { user_token: 'user-b', program: 'business', status: 'active' };

export const personal_card: CardState = {
  ...business_card,
  card_token: 'card-p',
  user_token: 'user-p',
  program: 'personal',
};
export const personal_holder: Cardholder = { user_token: 'user-p', program: 'personal', status: 'active' };

export const open_controls: SpendingControls = {
  mcc_allow: [],
  mcc_block: [],
  blocked_merchant_ids: [],
  blocked_countries: [],
};

export function zeroCounters(at_ms = now_ms): WindowCounters {
  return currentCounters(undefined, at_ms);
}

// Counters holding amount_minor and count in each window of now_ms.
export function countedToday(amount_minor: number, count: number): WindowCounters {
  const zero = zeroCounters();
  return {
    day: { ...zero.day, amount_minor, count },
    week: { ...zero.week, amount_minor, count },
    month: { ...zero.month, amount_minor, count },
  };
}

export interface Seed {
  readonly card: CardState;
  readonly holder?: Cardholder;
  readonly controls?: SpendingControls;
  readonly counters?: WindowCounters;
  readonly balance?: Balance | null;
}

// Loads one card as the authorizer's loader would.
export async function seed(store: CardStateStore, s: Seed): Promise<void> {
  const { card } = s;
  await store.writeCard(card);
  await store.writeControls(card.user_token, card.card_token, {
    ...(s.controls ?? open_controls),
    version: 1,
  });
  await store.writeCardholder({ ...(s.holder ?? holderOf(card)), version: 1 });
  await store.writeCounters(card.user_token, card.card_token, s.counters ?? zeroCounters());
  if (card.program === 'personal') await store.writeBalance(card.user_token, s.balance ?? null);
}

export function holderOf(card: CardState): Cardholder {
  return { user_token: card.user_token, program: card.program, status: 'active' };
}

let sequence = 0;
export function jit(): string {
  sequence += 1;
  return `jit-${process.pid}-${sequence}`;
}

// A decision deadline no test run reaches (the script compares it with the Redis clock); a late
// script is tested with a deadline in the past, never by waiting.
export const open_deadline_ms = Date.parse('2100-01-01T00:00:00Z');
export const passed_deadline_ms = Date.parse('2024-01-01T00:00:00Z');

export function authorization(card: CardState, overrides: Partial<DecideRequest> = {}): DecideRequest {
  return {
    kind: 'authorization',
    single_message: false,
    method: 'pgfs.authorization',
    jit_token: jit(),
    card_token: card.card_token,
    user_token: card.user_token,
    amount_minor: 1_000,
    currency: 'USD',
    mcc: '5411',
    mid: 'merchant-1',
    merchant_country: 'USA',
    now_ms,
    deadline_at_ms: open_deadline_ms,
    ...overrides,
  };
}

// The release the service schedules after answering its own decline for this decision.
export function declinedBy(memo: ReleaseMemo, request: DecideRequest): ReleaseRequest {
  return { ...request, memo };
}

export function informative(
  card: CardState,
  kind: ApplyRequest['kind'],
  overrides: Partial<ApplyRequest> = {},
): ApplyRequest {
  const methods = {
    reversal: 'pgfs.authorization.reversal',
    clearing: 'pgfs.authorization.clearing',
    refund: 'pgfs.refund',
    advice: 'pgfs.authorization.advice',
  } as const;
  return {
    kind,
    single_message: false,
    method: methods[kind],
    jit_token: jit(),
    card_token: card.card_token,
    user_token: card.user_token,
    amount_minor: 1_000,
    currency: 'USD',
    mcc: '5411',
    mid: 'merchant-1',
    merchant_country: 'USA',
    now_ms,
    ...overrides,
  };
}

// Every entry of the partition's outbox, each checked against the OutboxEvent schema.
export async function outboxEvents(
  redis: RedisClient,
  store: CardStateStore,
  user_token: string,
): Promise<OutboxEvent[]> {
  const key = store.keys(user_token, 'any-card').outbox;
  const entries = await redis.xrange(key, '-', '+');
  return entries.map(([, fields]) => {
    expect(fields[0]).toBe('event');
    // Readers rely on it (see outbox_event_prefix): the id and type as the event's first members.
    const prefix = outbox_event_prefix.exec(fields[1] ?? '');
    expect(prefix, fields[1]).not.toBeNull();
    const event: unknown = JSON.parse(fields[1] ?? 'null');
    expect([prefix?.[1], prefix?.[2]]).toEqual([
      (event as OutboxEvent).event_id,
      (event as OutboxEvent).type,
    ]);
    if (!Value.Check(OutboxEvent, event)) {
      throw new Error(
        `event does not match OutboxEvent: ${JSON.stringify([...Value.Errors(OutboxEvent, event)])}`,
      );
    }
    return event;
  });
}

let card_sequence = 0;
// A card (and cardholder) of its own for one test case: cases never see each other's state.
export function freshCard(base: CardState, overrides: Partial<CardState> = {}): CardState {
  card_sequence += 1;
  const suffix = `${process.pid}-${card_sequence}`;
  return {
    ...base,
    card_token: `${base.card_token}-${suffix}`,
    user_token: `${base.user_token}-${suffix}`,
    ...overrides,
  };
}
