import {
  type Balance,
  type Cardholder,
  type CardState,
  currentCounters,
  type DecisionInput,
  decideAuthorization,
  type Hold,
  max_amount_minor,
  type SpendingControls,
  type WindowCounters,
  windowStarts,
} from '@afc/domain';
import type { RedisClient } from '@afc/redis';
import { createTestRedisPrefix } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CardStateStore, createCardState, type DecideRequest, type DecideResult } from '../src/index.ts';
import {
  authorization,
  business_card,
  captureLogger,
  closeClients,
  day_ms,
  declinedBy,
  freshCard,
  holderOf,
  informative,
  now_ms,
  open_controls,
  outboxEvents,
  partitions,
  passed_deadline_ms,
  personal_card,
  seed,
  sharedRedis,
  storeOn,
  zeroCounters,
} from './helpers.ts';

const prefix = createTestRedisPrefix();
let redis: RedisClient;
let store: CardStateStore;

beforeAll(async () => {
  redis = await sharedRedis(prefix.prefix);
  store = await storeOn(redis);
});

afterAll(async () => {
  await closeClients([redis]);
  await prefix.cleanup();
});

interface Case {
  readonly card?: CardState;
  readonly holder?: Cardholder | 'unknown';
  readonly controls?: SpendingControls;
  readonly counters?: WindowCounters;
  readonly balance?: Balance | null;
  readonly original?: Hold;
  readonly request?: Partial<DecideRequest>;
}

// A message about a card that is not its cardholder's stores no decision and emits no event.
async function expectNothingWritten(user_token: string, card_token: string, jit_token: string) {
  expect(await redis.get(store.keys(user_token, card_token).decisionKey(jit_token))).toBeNull();
  const events = await outboxEvents(redis, store, user_token);
  expect(events.filter((event) => event.card_token === card_token)).toEqual([]);
}

// Seeds a card of its own, decides one message through the script and through the domain
// (same input), and checks they agree; returns the script's result.
async function decideBoth(c: Case): Promise<DecideResult> {
  const card = c.card ?? freshCard(business_card);
  await seed(store, {
    card,
    ...(c.holder === 'unknown' ? {} : { holder: c.holder ?? holderOf(card) }),
    ...(c.controls === undefined ? {} : { controls: c.controls }),
    ...(c.counters === undefined ? {} : { counters: c.counters }),
    balance: c.balance ?? null,
  });
  if (c.holder === 'unknown') {
    await redis.del(store.keys(card.user_token, card.card_token).cardholderState);
    await store.writeUnknownCardholder(card.user_token, 60);
  }
  if (c.original !== undefined) {
    await redis.set(
      store.keys(card.user_token, card.card_token).holdKey(c.original.jit_token),
      JSON.stringify(c.original),
    );
  }
  const request = authorization(card, c.request);
  const result = await store.decide(request);
  const input: DecisionInput = {
    kind: request.kind,
    jit_token: request.jit_token,
    amount_minor: request.amount_minor,
    currency: request.currency,
    mcc: request.mcc,
    mid: request.mid,
    merchant_country: request.merchant_country,
    now_ms: request.now_ms,
    single_message: request.single_message,
    card,
    ...(c.holder === 'unknown' ? {} : { cardholder: c.holder ?? holderOf(card) }),
    controls: c.controls ?? open_controls,
    counters: c.counters ?? zeroCounters(),
    ...(c.balance ? { balance: c.balance } : {}),
    ...(c.original === undefined || request.original_jit_token === undefined
      ? {}
      : { original_hold: c.original }),
  };
  const domain = decideAuthorization(input);
  expect(result.status).toBe('decided');
  if (result.status === 'decided') {
    expect(result.outcome).toBe(domain.outcome);
    if (domain.outcome === 'decline' && result.outcome === 'decline') {
      expect([result.memo, result.decline_reason]).toEqual([domain.memo, domain.decline_reason]);
    }
    if (domain.outcome === 'approve' && result.outcome === 'approve')
      expect(result.hold).toEqual(domain.hold);
  }
  return result;
}

function memoOf(result: DecideResult): string {
  if (result.status !== 'decided') return result.status;
  if (result.outcome === 'decline') return result.memo;
  if (result.outcome === 'balance') return result.stored.memo;
  return result.outcome;
}

const limits = (l: Partial<SpendingControls>): SpendingControls => ({ ...open_controls, ...l });
const counters = (day: number, week: number, month: number, count = 0): WindowCounters => {
  const s = windowStarts(now_ms);
  return {
    day: { start: s.day, amount_minor: day, count },
    week: { start: s.week, amount_minor: week, count },
    month: { start: s.month, amount_minor: month, count },
  };
};

describe('decide.lua: every rule of decideAuthorization, in order, with the domain as reference', () => {
  it('approves: a hold, counters and an approved event; the hold remembers what it counted', async () => {
    const card = freshCard(business_card);
    const result = await decideBoth({ card });
    expect(memoOf(result)).toBe('approve');
    const state = await store.readState(card.user_token, card.card_token);
    expect(state.counters?.day).toEqual({ start: windowStarts(now_ms).day, amount_minor: 1_000, count: 1 });
    const events = (await outboxEvents(redis, store, card.user_token)).filter(
      (e) => e.card_token === card.card_token,
    );
    expect(events.map((e) => e.type)).toEqual(['authorization.approved']);
    expect(events[0]?.hold).toEqual({
      amount_minor: 1_000,
      authorized_minor: 1_000,
      released_minor: 0,
      captured_minor: 0,
    });
  });

  it('identity: card unknown, another user, not active, expired (through the end of its month), cardholder', async () => {
    const unknown = freshCard(business_card);
    await store.writeUnknownCard(unknown.user_token, unknown.card_token, 60);
    const request = authorization(unknown);
    const result = await store.decide(request);
    expect(result).toMatchObject({ outcome: 'decline', decline_reason: 'INVALID_CARD', stored: null });
    expect(memoOf(result)).toBe('card_not_found');
    await expectNothingWritten(unknown.user_token, unknown.card_token, request.jit_token);
    expect(memoOf(await decideBoth({ card: freshCard(business_card, { state: 'suspended' }) }))).toBe(
      'card_not_active',
    );
    expect(memoOf(await decideBoth({ card: freshCard(business_card, { state: 'terminated' }) }))).toBe(
      'card_not_active',
    );
    const expired = freshCard(business_card, { expiration_year: 2024, expiration_month: 2 });
    expect(memoOf(await decideBoth({ card: expired }))).toBe('card_expired');
    const last_month = freshCard(business_card, { expiration_year: 2024, expiration_month: 3 });
    expect(memoOf(await decideBoth({ card: last_month }))).toBe('approve');
    expect(memoOf(await decideBoth({ holder: 'unknown' }))).toBe('cardholder_not_found');
    const card = freshCard(business_card);
    expect(memoOf(await decideBoth({ card, holder: { ...holderOf(card), status: 'closed' } }))).toBe(
      'cardholder_not_active',
    );
  });

  it('an outbox at its bound: a decision is declined outbox_full and changes nothing; replays, balance inquiries and informative messages go on', async () => {
    const card = freshCard(business_card);
    await seed(store, { card });
    const outbox = store.keys(card.user_token, card.card_token).outbox;
    // Bounded at one event more than the partition holds now (this file's tests run one by one).
    const bound = (await redis.xlen(outbox)) + 1;
    const bounded = (outbox_max_events: number) =>
      createCardState({
        redis,
        partitions,
        refund_mode: 'counters_unchanged',
        logger: captureLogger().logger,
        outbox_max_events,
      });
    const full = await bounded(bound);
    const first = authorization(card);
    expect(await full.decide(first)).toMatchObject({ outcome: 'approve' });
    const before = await full.readState(card.user_token, card.card_token);
    const second = authorization(card);
    expect(await full.decide(second)).toMatchObject({
      outcome: 'decline',
      decline_reason: 'TRANSACTION_NOT_PERMITTED',
      memo: 'outbox_full',
      stored: null,
    });
    expect(await full.readDecision(card.user_token, second.jit_token)).toBeNull();
    const events = await outboxEvents(redis, store, card.user_token);
    expect(events.filter((event) => event.jit_token === second.jit_token)).toEqual([]);
    expect(await full.readState(card.user_token, card.card_token)).toEqual(before);
    expect(await redis.xlen(outbox)).toBe(bound);
    expect(await full.decide(first)).toMatchObject({ outcome: 'replay', stored: { outcome: 'approve' } });
    const inquiry = authorization(card, {
      kind: 'balance_inquiry',
      method: 'pgfs.balanceinquiry',
      amount_minor: 0,
    });
    expect(await full.decide(inquiry)).toMatchObject({ outcome: 'balance' });
    // Marqeta already moved that money: recorded, past the bound.
    const reversal = informative(card, 'reversal', { original_jit_token: first.jit_token });
    expect(await full.apply(reversal)).toMatchObject({ status: 'applied' });
    expect(await redis.xlen(outbox)).toBe(bound + 1);
    // Marqeta stood in (its advice holds the purchase), then our JIT arrives: answered as it
    // happened, full outbox or not.
    const stand_in = informative(card, 'advice', {
      method: 'pgfs.authorization.standin',
      amount_minor: 1_500,
    });
    expect(await full.apply(stand_in)).toMatchObject({ status: 'applied', note: 'standin_held' });
    expect(
      await full.decide(authorization(card, { jit_token: stand_in.jit_token, amount_minor: 1_500 })),
    ).toMatchObject({ outcome: 'replay', stored: { outcome: 'approve' } });
    // Room again (the relay moved events; here, a larger bound): the same message is decided.
    expect(await (await bounded(bound + 3)).decide(second)).toMatchObject({ outcome: 'approve' });
  });

  it('a card stored for another cardholder than the message names: INVALID_CARD, card_user_mismatch', async () => {
    const card = freshCard(business_card);
    const other = `${card.user_token}-other`;
    // What a card moved between cardholders (or a loader bug) leaves in the message's partition.
    await redis.set(store.keys(other, card.card_token).cardState, JSON.stringify(card));
    const request = authorization(card, { user_token: other });
    const result = await store.decide(request);
    expect(result).toMatchObject({
      outcome: 'decline',
      decline_reason: 'INVALID_CARD',
      memo: 'card_user_mismatch',
      stored: null,
    });
    await expectNothingWritten(other, card.card_token, request.jit_token);
  });

  it('amounts: invalid (negative, past the maximum), zero, verification not zero; verification approves', async () => {
    expect(memoOf(await decideBoth({ request: { amount_minor: -1 } }))).toBe('amount_invalid');
    expect(memoOf(await decideBoth({ request: { amount_minor: max_amount_minor + 1 } }))).toBe(
      'amount_invalid',
    );
    expect(memoOf(await decideBoth({ request: { amount_minor: max_amount_minor } }))).toBe('approve');
    expect(memoOf(await decideBoth({ request: { amount_minor: 0 } }))).toBe('amount_zero');
    const verification = {
      kind: 'account_verification',
      method: 'pgfs.authorization.account_verification',
    } as const;
    expect(memoOf(await decideBoth({ request: { ...verification, amount_minor: 1 } }))).toBe(
      'verification_amount_not_zero',
    );
    const card = freshCard(business_card);
    const result = await decideBoth({ card, request: { ...verification, amount_minor: 0 } });
    expect(result).toMatchObject({ outcome: 'approve', hold: null });
    expect((await store.readState(card.user_token, card.card_token)).counters).toEqual(zeroCounters());
  });

  it('merchant rules: currency, MCC block, MCC allow-list, merchant id, country', async () => {
    expect(memoOf(await decideBoth({ request: { currency: 'EUR' } }))).toBe('currency_mismatch');
    expect(memoOf(await decideBoth({ controls: limits({ mcc_block: ['5411'] }) }))).toBe('mcc_blocked');
    expect(memoOf(await decideBoth({ controls: limits({ mcc_allow: ['5812'] }) }))).toBe('mcc_not_allowed');
    expect(memoOf(await decideBoth({ controls: limits({ mcc_allow: ['5812', '5411'] }) }))).toBe('approve');
    expect(memoOf(await decideBoth({ controls: limits({ blocked_merchant_ids: ['merchant-1'] }) }))).toBe(
      'merchant_blocked',
    );
    expect(memoOf(await decideBoth({ controls: limits({ blocked_countries: ['USA'] }) }))).toBe(
      'country_blocked',
    );
  });

  it('amount limits at the boundary: exactly the limit approves, one minor unit more declines', async () => {
    const cases = [
      ['per_transaction_limit', { per_transaction_limit_minor: 1_000 }, counters(0, 0, 0)],
      ['daily_amount_limit', { daily_limit_minor: 5_000 }, counters(4_000, 4_000, 4_000)],
      ['weekly_amount_limit', { weekly_limit_minor: 9_000 }, counters(0, 8_000, 8_000)],
      ['monthly_amount_limit', { monthly_limit_minor: 20_000 }, counters(0, 0, 19_000)],
    ] as const;
    for (const [memo, limit, used] of cases) {
      expect(memoOf(await decideBoth({ controls: limits(limit), counters: used }))).toBe('approve');
      const over = await decideBoth({
        controls: limits(limit),
        counters: used,
        request: { amount_minor: 1_001 },
      });
      expect(memoOf(over)).toBe(memo);
    }
  });

  it('count limits: the next authorization past the count declines', async () => {
    const cases = [
      ['daily_count_limit', { daily_count_limit: 2 }],
      ['weekly_count_limit', { weekly_count_limit: 2 }],
      ['monthly_count_limit', { monthly_count_limit: 2 }],
    ] as const;
    for (const [memo, limit] of cases) {
      expect(memoOf(await decideBoth({ controls: limits(limit), counters: counters(0, 0, 0, 1) }))).toBe(
        'approve',
      );
      expect(memoOf(await decideBoth({ controls: limits(limit), counters: counters(0, 0, 0, 2) }))).toBe(
        memo,
      );
    }
  });

  it('closed windows count from zero; a window newer than the clock is kept', async () => {
    const yesterday = currentCounters(undefined, now_ms - day_ms);
    const full_yesterday = { ...yesterday, day: { ...yesterday.day, amount_minor: 5_000 } };
    expect(
      memoOf(await decideBoth({ controls: limits({ daily_limit_minor: 1_000 }), counters: full_yesterday })),
    ).toBe('approve');
    const tomorrow = currentCounters(undefined, now_ms + day_ms);
    const full_tomorrow = { ...tomorrow, day: { ...tomorrow.day, amount_minor: 5_000 } };
    expect(
      memoOf(await decideBoth({ controls: limits({ daily_limit_minor: 5_000 }), counters: full_tomorrow })),
    ).toBe('daily_amount_limit');
  });

  it('personal wallet: missing, exactly the balance, one unit more; the wallet moves to held', async () => {
    const card = freshCard(personal_card);
    expect(memoOf(await decideBoth({ card: freshCard(personal_card) }))).toBe('balance_not_found');
    const wallet = { available_minor: 1_000, held_minor: 0 };
    expect(memoOf(await decideBoth({ card, balance: wallet }))).toBe('approve');
    expect((await store.readState(card.user_token, card.card_token)).balance).toEqual({
      available_minor: 0,
      held_minor: 1_000,
    });
    expect(
      memoOf(
        await decideBoth({
          balance: wallet,
          card: freshCard(personal_card),
          request: { amount_minor: 1_001 },
        }),
      ),
    ).toBe('insufficient_funds');
  });

  it('balance inquiry: the wallet, the smallest allowance left, 0 when counted out, unlimited', async () => {
    const inquiry = { kind: 'balance_inquiry', method: 'pgfs.balanceinquiry', amount_minor: 0 } as const;
    const wallet = await decideBoth({
      card: freshCard(personal_card),
      balance: { available_minor: 700, held_minor: 300 },
      request: inquiry,
    });
    expect(wallet).toMatchObject({
      outcome: 'balance',
      stored: { available_minor: 700, ledger_minor: 1_000 },
    });
    const allowance = await decideBoth({
      controls: limits({ per_transaction_limit_minor: 3_000, daily_limit_minor: 5_000 }),
      counters: counters(4_200, 4_200, 4_200),
      request: inquiry,
    });
    expect(allowance).toMatchObject({ stored: { available_minor: 800, memo: 'remaining_allowance' } });
    const counted_out = await decideBoth({
      controls: limits({ daily_count_limit: 1 }),
      counters: counters(0, 0, 0, 1),
      request: inquiry,
    });
    expect(counted_out).toMatchObject({ stored: { available_minor: 0, memo: 'remaining_allowance' } });
    expect(memoOf(await decideBoth({ request: inquiry }))).toBe('unlimited');
  });
});

function holdOf(card: CardState, overrides: Partial<Hold> = {}): Hold {
  const s = windowStarts(now_ms);
  return {
    jit_token: `orig-${card.card_token}`,
    card_token: card.card_token,
    user_token: card.user_token,
    program: card.program,
    amount_minor: 1_000,
    authorized_minor: 1_000,
    released_minor: 0,
    captured_minor: 0,
    on_expiry: 'release',
    counted: [{ day_start: s.day, week_start: s.week, month_start: s.month, amount_minor: 1_000, count: 1 }],
    ...overrides,
  };
}

describe('decide.lua: incrementals', () => {
  const incremental = (original?: Hold) =>
    ({
      kind: 'incremental',
      method: 'pgfs.authorization.incremental',
      amount_minor: 500,
      ...(original === undefined ? {} : { original_jit_token: original.jit_token }),
    }) as const;

  it('grows the original hold, counted today without a count; the whole purchase meets the per-transaction limit', async () => {
    const card = freshCard(business_card);
    const original = holdOf(card);
    const result = await decideBoth({ card, original, request: incremental(original) });
    expect(result).toMatchObject({
      outcome: 'approve',
      hold: { jit_token: original.jit_token, amount_minor: 1_500 },
    });
    const stored = await store.readHold(card.user_token, original.jit_token);
    expect(stored?.counted).toEqual([{ ...original.counted[0], amount_minor: 1_500, count: 1 }]);
    const captured = holdOf(freshCard(business_card), { amount_minor: 600, captured_minor: 400 });
    const partly = {
      ...captured,
      counted: [{ ...original.counted[0], amount_minor: 600, count: 0 }],
    } as Hold;
    const controls = limits({ per_transaction_limit_minor: 1_500 });
    const card2 = freshCard(business_card, {
      card_token: captured.card_token,
      user_token: captured.user_token,
    });
    expect(
      memoOf(await decideBoth({ card: card2, controls, original: partly, request: incremental(partly) })),
    ).toBe('approve');
    const card3 = freshCard(business_card);
    const partly3 = {
      ...partly,
      jit_token: `o3-${card3.card_token}`,
      card_token: card3.card_token,
      user_token: card3.user_token,
    };
    const over = { ...incremental(partly3), amount_minor: 501 };
    expect(memoOf(await decideBoth({ card: card3, controls, original: partly3, request: over }))).toBe(
      'per_transaction_limit',
    );
  });

  it('original not found: none named, unknown, or another card’s hold', async () => {
    expect(memoOf(await decideBoth({ request: incremental() }))).toBe('original_not_found');
    const card = freshCard(business_card);
    expect(
      memoOf(await decideBoth({ card, request: { ...incremental(), original_jit_token: 'nope' } })),
    ).toBe('original_not_found');
    const mine = freshCard(business_card);
    const others = holdOf(mine, { card_token: 'someone-else' });
    expect(memoOf(await decideBoth({ card: mine, original: others, request: incremental(others) }))).toBe(
      'original_not_found',
    );
  });

  it('sixteen counted entries: another window is declined, today’s newest entry still merges', async () => {
    const card = freshCard(business_card);
    const s = windowStarts(now_ms);
    const counted = Array.from({ length: 16 }, (_, i) => ({
      day_start: s.day - 16 + i,
      week_start: s.week - 21,
      month_start: s.month - 31,
      amount_minor: 10,
      count: i === 0 ? 1 : 0,
    }));
    const full = holdOf(card, { amount_minor: 160, authorized_minor: 160, counted });
    expect(memoOf(await decideBoth({ card, original: full, request: incremental(full) }))).toBe(
      'too_many_increments',
    );
    const card2 = freshCard(business_card);
    const today = [
      ...counted.slice(0, 15),
      { day_start: s.day, week_start: s.week, month_start: s.month, amount_minor: 10, count: 0 },
    ];
    const full_today = holdOf(card2, { amount_minor: 160, authorized_minor: 160, counted: today });
    expect(
      memoOf(await decideBoth({ card: card2, original: full_today, request: incremental(full_today) })),
    ).toBe('approve');
  });
});

describe('decide.lua: replays, missing state, bad input', () => {
  it('a replay answers the stored decision and changes nothing; another amount or kind is replay_mismatch', async () => {
    const card = freshCard(business_card);
    await seed(store, { card });
    const request = authorization(card);
    const first = await store.decide(request);
    expect(first).toMatchObject({ outcome: 'approve' });
    const before = await store.readState(card.user_token, card.card_token);
    const outbox = await redis.xlen(store.keys(card.user_token, card.card_token).outbox);
    const again = await store.decide(request);
    const stored = {
      jit_token: request.jit_token,
      kind: 'authorization',
      amount_minor: 1_000,
      outcome: 'approve',
    };
    expect(again).toEqual({ status: 'decided', outcome: 'replay', stored });
    const other = await store.decide({ ...request, amount_minor: 999 });
    expect(other).toEqual({
      status: 'decided',
      outcome: 'decline',
      stored: null,
      decline_reason: 'DUPLICATE_TRANSACTION',
      memo: 'replay_mismatch',
    });
    expect(memoOf(await store.decide({ ...request, kind: 'balance_inquiry' }))).toBe('replay_mismatch');
    expect(await store.readState(card.user_token, card.card_token)).toEqual(before);
    expect(await redis.xlen(store.keys(card.user_token, card.card_token).outbox)).toBe(outbox);
    expect(
      await redis.ttl(store.keys(card.user_token, card.card_token).decisionKey(request.jit_token)),
    ).toBeGreaterThan(7 * 24 * 3600);
  });

  it('missing state is listed, nothing is written; the balance only for personal cards', async () => {
    const card = freshCard(personal_card);
    const request = authorization(card);
    expect(await store.decide(request)).toEqual({
      status: 'missing',
      missing: ['card', 'controls', 'cardholder', 'counters'],
    });
    await store.writeCard(card);
    await store.writeCardholder({ ...holderOf(card), version: 1 });
    expect(await store.decide(request)).toEqual({
      status: 'missing',
      missing: ['controls', 'counters', 'balance'],
    });
    expect(
      await redis.exists(store.keys(card.user_token, card.card_token).decisionKey(request.jit_token)),
    ).toBe(0);
    const business = freshCard(business_card);
    await store.writeCard(business);
    expect(await store.decide(authorization(business))).toEqual({
      status: 'missing',
      missing: ['controls', 'cardholder', 'counters'],
    });
  });

  it('refuses requests that are not safe integers or tokens before they reach Redis', async () => {
    const card = freshCard(business_card);
    await seed(store, { card });
    const bad: Partial<DecideRequest>[] = [
      { amount_minor: Number.NaN },
      { amount_minor: 2.5 },
      { amount_minor: 2 ** 53 },
      { jit_token: 'has:colon' },
      { jit_token: '{tag}' },
      { user_token: '' },
      { mcc: 'x'.repeat(257) },
      { now_ms: -1 },
      { kind: 'reversal' as never },
    ];
    for (const overrides of bad) {
      await expect(store.decide(authorization(card, overrides))).rejects.toMatchObject({
        code: 'AFC_CARD_STATE_INVALID',
      });
    }
    expect((await store.readState(card.user_token, card.card_token)).counters).toEqual(zeroCounters());
  });

  it('stored state it cannot read fails loudly, with nothing written', async () => {
    const card = freshCard(business_card);
    await seed(store, { card });
    await redis.set(store.keys(card.user_token, card.card_token).cardControls, '{"mcc_allow":"oops"}');
    const request = authorization(card);
    await expect(store.decide(request)).rejects.toMatchObject({ code: 'AFC_CARD_STATE_CORRUPT' });
    expect(
      await redis.exists(store.keys(card.user_token, card.card_token).decisionKey(request.jit_token)),
    ).toBe(0);
  });
});

describe('decide.lua: past the decision deadline (Redis clock)', () => {
  it('a late script stores the timeout decline, holds and counts nothing, emits the decline; the release then finds it declined', async () => {
    const card = freshCard(personal_card);
    await seed(store, { card, balance: { available_minor: 5_000, held_minor: 0 } });
    const before = await store.readState(card.user_token, card.card_token);
    const request = authorization(card, { deadline_at_ms: passed_deadline_ms });
    const stored = { jit_token: request.jit_token, kind: 'authorization', amount_minor: 1_000 };
    const timeout = { decline_reason: 'TRANSACTION_NOT_PERMITTED', memo: 'timeout' };
    expect(await store.decide(request)).toMatchObject({
      status: 'decided',
      outcome: 'decline',
      stored: { ...stored, outcome: 'decline', ...timeout },
      ...timeout,
    });
    expect(await store.readState(card.user_token, card.card_token)).toEqual(before);
    expect(await store.readHold(card.user_token, request.jit_token)).toBeNull();
    const events = (await outboxEvents(redis, store, card.user_token)).filter(
      (e) => e.jit_token === request.jit_token,
    );
    expect(events.map((e) => [e.type, e.memo, e.counter_deltas, e.hold])).toEqual([
      ['authorization.declined', 'timeout', [], null],
    ]);
    expect(await store.releaseAfterTimeout(declinedBy('timeout', request))).toMatchObject({
      action: 'already_declined',
    });
    // Run again in time (ioredis resending it): the answer stays the decline, nothing held.
    expect(await store.decide(authorization(card, { jit_token: request.jit_token }))).toMatchObject({
      outcome: 'replay',
      stored: { outcome: 'decline', memo: 'timeout' },
    });
    expect(await store.readState(card.user_token, card.card_token)).toEqual(before);
  });

  it('declines before asking for state: a late script for a card not in Redis loads nothing', async () => {
    const card = freshCard(business_card);
    const request = authorization(card, { kind: 'balance_inquiry', amount_minor: 0, deadline_at_ms: 0 });
    expect(await store.decide(request)).toMatchObject({ outcome: 'decline', memo: 'timeout' });
    expect(await store.readDecision(card.user_token, request.jit_token)).toMatchObject({
      kind: 'balance_inquiry',
      amount_minor: 0,
      outcome: 'decline',
      memo: 'timeout',
    });
  });

  it('a replay of an earlier answer still answers it', async () => {
    const card = freshCard(business_card);
    await seed(store, { card });
    const request = authorization(card);
    expect(await store.decide(request)).toMatchObject({ outcome: 'approve' });
    expect(await store.decide({ ...request, deadline_at_ms: passed_deadline_ms })).toMatchObject({
      outcome: 'replay',
      stored: { outcome: 'approve' },
    });
  });

  it('refuses a deadline that is not a safe integer', async () => {
    const card = freshCard(business_card);
    for (const deadline_at_ms of [1.5, Number.NaN, 2 ** 53, '1' as unknown as number]) {
      await expect(store.decide(authorization(card, { deadline_at_ms }))).rejects.toMatchObject({
        code: 'AFC_CARD_STATE_INVALID',
      });
    }
  });
});

describe('decide.lua: a hold already under the token (stand-in advice before the decide)', () => {
  it('answers approve as a replay: the hold, counters, wallet and outbox unchanged, nothing stored', async () => {
    const card = freshCard(personal_card);
    await seed(store, { card, balance: { available_minor: 5_000, held_minor: 0 } });
    const stand_in = informative(card, 'advice', {
      method: 'pgfs.authorization.standin',
      amount_minor: 1_500,
    });
    expect(await store.apply(stand_in)).toMatchObject({ status: 'applied', note: 'standin_held' });
    const keys = store.keys(card.user_token, card.card_token);
    const before = {
      state: await store.readState(card.user_token, card.card_token),
      hold: await redis.get(keys.holdKey(stand_in.jit_token)),
      outbox: await redis.xlen(keys.outbox),
    };
    expect(before.state.counters?.day).toMatchObject({ amount_minor: 1_500, count: 1 });
    const request = authorization(card, { jit_token: stand_in.jit_token, amount_minor: 1_000 });
    expect(await store.decide(request)).toEqual({
      status: 'decided',
      outcome: 'replay',
      stored: {
        jit_token: request.jit_token,
        kind: 'authorization',
        amount_minor: 1_000,
        outcome: 'approve',
      },
    });
    expect({
      state: await store.readState(card.user_token, card.card_token),
      hold: await redis.get(keys.holdKey(stand_in.jit_token)),
      outbox: await redis.xlen(keys.outbox),
    }).toEqual(before);
    expect(await store.readDecision(card.user_token, request.jit_token)).toEqual({ applied: 'advice' });
    // A timeout release for that decide finds no approval of ours: the stand-in's hold stays.
    expect(await store.releaseAfterTimeout(declinedBy('timeout', request))).toMatchObject({
      action: 'declined_before_decision',
    });
    expect(await store.readHold(card.user_token, stand_in.jit_token)).toMatchObject({ amount_minor: 1_500 });
  });
});
