import type { RedisClient } from '@afc/redis';
import { createTestRedisPrefix } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CardStateStore } from '../src/index.ts';
import { expectSameAsDomain } from './equivalence.ts';
import {
  business_card,
  captureLogger,
  closeClients,
  countedToday,
  day_ms,
  freshCard,
  informative,
  now_ms,
  open_controls,
  open_deadline_ms,
  outboxEvents,
  personal_card,
  seed,
  sharedRedis,
  storeOn,
} from './helpers.ts';
import { linkedTo, message, scenario } from './scenario.ts';

const prefix = createTestRedisPrefix();
let redis: RedisClient;
let store: CardStateStore;
let restoring: CardStateStore;
const log = captureLogger();

beforeAll(async () => {
  redis = await sharedRedis(prefix.prefix);
  store = await storeOn(redis, 'counters_unchanged', log.logger);
  restoring = await storeOn(redis, 'restore_counters');
});

afterAll(async () => {
  await closeClients([redis]);
  await prefix.cleanup();
});

const auth = 'pgfs.authorization';
const reversal = 'pgfs.authorization.reversal';
const clearing = 'pgfs.authorization.clearing';
const today = countedToday;

async function codes(
  events: Parameters<typeof scenario>[1],
  cards: Parameters<typeof scenario>[0],
  mode = store,
) {
  const steps = await expectSameAsDomain(
    redis,
    mode,
    scenario(cards, events, mode === store ? 'counters_unchanged' : 'restore_counters'),
  );
  return steps.map((step) => step.code ?? step.outcome);
}

describe('apply.lua: reversals', () => {
  it('partial, capped and full releases; the count comes back with the last of the hold; the wallet too', async () => {
    const card = freshCard(personal_card);
    const a = message(auth, card, 1_000);
    const events = [
      a,
      message(reversal, card, 300, linkedTo(a)),
      message(reversal, card, 900, linkedTo(a)),
      message(reversal, card, 100, linkedTo(a)),
    ];
    const wallet = { available_minor: 5_000, held_minor: 0 };
    expect(await codes(events, [{ card, balance: wallet }])).toEqual([
      'approve',
      'released',
      'release_capped',
      'release_capped',
    ]);
    const state = await store.readState(card.user_token, card.card_token);
    expect(state.counters).toEqual(today(0, 0));
    expect(state.balance).toEqual(wallet);
  });

  it('without an amount releases all; without a hold or with an unreadable amount changes nothing', async () => {
    const card = freshCard(business_card);
    const a = message(auth, card, 1_000);
    const all = message(reversal, card, 0, linkedTo(a));
    const { amount_minor: _omitted, ...no_amount } = all;
    const events = [
      a,
      message(reversal, card, -1, linkedTo(a)),
      no_amount as typeof all,
      message(reversal, card, 10, { original_jit_token: 'never-approved' }),
    ];
    expect(await codes(events, [{ card }])).toEqual([
      'approve',
      'invalid_amount',
      'released',
      'hold_not_found',
    ]);
    expect((await store.readHold(card.user_token, a.jit_token))?.released_minor).toBe(1_000);
  });
});

describe('apply.lua: clearings', () => {
  it('captured, over-captured (counted today without a count), final releases the rest, force post counts', async () => {
    const card = freshCard(business_card);
    const a = message(auth, card, 1_000);
    const b = message(auth, card, 2_000);
    const events = [
      a,
      message(clearing, card, 400, linkedTo(a)),
      message(clearing, card, 900, linkedTo(a)),
      b,
      message(clearing, card, 500, linkedTo(b, { final: true })),
      message(clearing, card, 700),
    ];
    expect(await codes(events, [{ card }])).toEqual([
      'approve',
      'captured',
      'over_captured',
      'approve',
      'captured',
      'force_post',
    ]);
    // 1300 spent on a, 500 on b (the 1500 left released; a capture made its count final), 700
    // forced with a count of its own.
    expect((await store.readState(card.user_token, card.card_token)).counters).toEqual(today(2_500, 3));
  });

  it('a fully reversed purchase that clears counts again, once over several clearings; a fully captured one does not', async () => {
    const card = freshCard(business_card);
    const a = message(auth, card, 1_000);
    const b = message(auth, card, 1_000);
    const events = [
      a,
      message(reversal, card, 1_000, linkedTo(a)),
      message(clearing, card, 600, linkedTo(a)),
      message(clearing, card, 400, linkedTo(a)),
      b,
      message(clearing, card, 1_000, linkedTo(b)),
      message(clearing, card, 300, linkedTo(b)),
    ];
    expect(await codes(events, [{ card }])).toEqual([
      'approve',
      'released',
      'over_captured',
      'over_captured',
      'approve',
      'captured',
      'over_captured',
    ]);
    // a counts once again, whichever of its two clearings came first; b once.
    expect((await store.readState(card.user_token, card.card_token)).counters).toEqual(today(2_300, 2));
    expect(await store.readHold(card.user_token, a.jit_token)).toMatchObject({
      amount_minor: 0,
      authorized_minor: 2_000,
      released_minor: 1_000,
      captured_minor: 1_000,
    });
  });
});

describe('apply.lua: refunds and advices', () => {
  it('a refund credits a personal wallet; business counters per refund mode, never below zero', async () => {
    const personal = freshCard(personal_card);
    const wallet = { available_minor: 100, held_minor: 0 };
    expect(
      await codes([message('pgfs.refund', personal, 250)], [{ card: personal, balance: wallet }]),
    ).toEqual(['refund_credited']);
    expect((await store.readState(personal.user_token, personal.card_token)).balance).toEqual({
      available_minor: 350,
      held_minor: 0,
    });
    const unchanged = freshCard(business_card);
    const a = message(auth, unchanged, 1_000);
    expect(await codes([a, message('pgfs.refund', unchanged, 400)], [{ card: unchanged }])).toEqual([
      'approve',
      'refund_counters_unchanged',
    ]);
    const restored = freshCard(business_card);
    const r = message(auth, restored, 1_000);
    const refunds = [r, message('pgfs.refund', restored, 400), message('pgfs.refund', restored, 5_000)];
    expect(await codes(refunds, [{ card: restored }], restoring)).toEqual([
      'approve',
      'refund_counters_restored',
      'refund_counters_restored',
    ]);
    expect((await store.readState(restored.user_token, restored.card_token)).counters).toEqual(today(0, 1));
  });

  it('stand-in is held past any limit; an advice raises, lowers or keeps a hold we have', async () => {
    const card = freshCard(business_card);
    const controls = { ...open_controls, daily_limit_minor: 500 };
    const a = message(auth, card, 400);
    const raise = message('pgfs.authorization.advice', card, 900, linkedTo(a));
    const events = [
      message('pgfs.authorization.standin', card, 2_000),
      a,
      raise,
      raise,
      message('pgfs.authorization.advice', card, 900, linkedTo(a)),
      message('pgfs.authorization.advice', card, 300, linkedTo(a)),
    ];
    expect(await codes(events, [{ card, controls: open_controls }])).toEqual([
      'standin_held',
      'approve',
      'advice_raised',
      'duplicate',
      'advice_unchanged',
      'advice_lowered',
    ]);
    const limited = freshCard(business_card);
    expect(
      await codes([message('pgfs.authorization.standin', limited, 2_000)], [{ card: limited, controls }]),
    ).toEqual(['standin_held']);
    expect((await store.readState(limited.user_token, limited.card_token)).counters).toEqual(today(2_000, 1));
  });
});

describe('apply.lua: a stand-in whose reversal or clearing came before its advice', () => {
  it('holds and counts what advice first would: the reversal and the force post leave empty holds', async () => {
    const wallet = { available_minor: 10_000, held_minor: 0 };
    const advice = 'pgfs.authorization.advice';
    const reversed = freshCard(personal_card);
    const r = { original_jit_token: `standin-r-${reversed.card_token}` };
    const cleared = freshCard(personal_card);
    const c = { original_jit_token: `standin-c-${cleared.card_token}` };
    const reversed_codes = await codes(
      [message(reversal, reversed, 800, r), message(advice, reversed, 2_000, r)],
      [{ card: reversed, balance: wallet }],
    );
    const cleared_codes = await codes(
      [message(clearing, cleared, 1_500, c), message(advice, cleared, 2_000, c)],
      [{ card: cleared, balance: wallet }],
    );
    expect([reversed_codes, cleared_codes]).toEqual([
      ['hold_not_found', 'advice_raised'],
      ['force_post', 'advice_raised'],
    ]);
    const after_reversal = await store.readState(reversed.user_token, reversed.card_token);
    expect(after_reversal.counters).toEqual(today(1_200, 1));
    expect(after_reversal.balance).toEqual({ available_minor: 8_800, held_minor: 1_200 });
    const after_clearing = await store.readState(cleared.user_token, cleared.card_token);
    expect(after_clearing.counters).toEqual(today(2_000, 1));
    expect(after_clearing.balance).toEqual({ available_minor: 8_000, held_minor: 500 });
    expect(await store.readHold(cleared.user_token, c.original_jit_token)).toMatchObject({
      amount_minor: 500,
      captured_minor: 1_500,
    });
  });

  it('a single-message stand-in ends captured; an incremental of a purchase only reversed is declined', async () => {
    const card = freshCard(business_card);
    const s = { original_jit_token: `standin-s-${card.card_token}` };
    const gone = { original_jit_token: `standin-g-${card.card_token}` };
    const events = [
      message(reversal, card, 300, s),
      message('pgfs.auth_plus_capture.standin', card, 1_000, s),
      message(reversal, card, 200, gone),
      message('pgfs.authorization.incremental', card, 100, gone),
    ];
    expect(await codes(events, [{ card }])).toEqual([
      'hold_not_found',
      'advice_raised',
      'hold_not_found',
      'original_not_found',
    ]);
    expect(await store.readHold(card.user_token, s.original_jit_token)).toMatchObject({
      amount_minor: 700,
      on_expiry: 'capture',
    });
  });
});

describe('apply.lua: duplicates, unknown cards, missing state, owners', () => {
  it('a repeated jit token is a duplicate with no effect and no event', async () => {
    const card = freshCard(business_card);
    await seed(store, { card });
    const request = informative(card, 'clearing', { amount_minor: 700 });
    expect(await store.apply(request)).toMatchObject({ status: 'applied', note: 'force_post' });
    const before = await store.readState(card.user_token, card.card_token);
    const outbox = await redis.xlen(store.keys(card.user_token, card.card_token).outbox);
    expect(await store.apply(request)).toEqual({ status: 'duplicate' });
    expect(await store.apply({ ...request, kind: 'refund', amount_minor: 5 })).toEqual({
      status: 'duplicate',
    });
    expect(await store.readState(card.user_token, card.card_token)).toEqual(before);
    expect(await redis.xlen(store.keys(card.user_token, card.card_token).outbox)).toBe(outbox);
  });

  it('an unknown card: note card_not_found, marked applied; an unloaded card or counters: missing', async () => {
    const unknown = freshCard(business_card);
    await store.writeUnknownCard(unknown.user_token, unknown.card_token, 60);
    const request = informative(unknown, 'refund');
    expect(await store.apply(request)).toMatchObject({
      status: 'applied',
      note: 'card_not_found',
      hold: null,
    });
    expect(await store.apply(request)).toEqual({ status: 'duplicate' });
    const card = freshCard(personal_card);
    const clear = informative(card, 'clearing');
    expect(await store.apply(clear)).toEqual({ status: 'missing', missing: ['card'] });
    await store.writeCard(card);
    expect(await store.apply(clear)).toEqual({ status: 'missing', missing: ['counters', 'balance'] });
    expect(
      await redis.exists(store.keys(card.user_token, card.card_token).decisionKey(clear.jit_token)),
    ).toBe(0);
  });

  it('a message linked to another card’s hold changes nothing and is logged (owner_mismatch)', async () => {
    const owner = freshCard(business_card);
    const other = freshCard(business_card, { user_token: owner.user_token });
    await seed(store, { card: owner });
    await seed(store, { card: other });
    const approved = await store.decide({
      ...informative(owner, 'clearing'),
      kind: 'authorization',
      method: auth,
      amount_minor: 1_000,
      deadline_at_ms: open_deadline_ms,
    });
    expect(approved).toMatchObject({ outcome: 'approve' });
    const hold_jit =
      approved.status === 'decided' && approved.outcome === 'approve' ? approved.hold?.jit_token : '';
    const before = await store.readHold(owner.user_token, hold_jit ?? '');
    const result = await store.apply(informative(other, 'reversal', { original_jit_token: hold_jit ?? '' }));
    expect(result).toEqual({
      status: 'owner_mismatch',
      owner_card_token: owner.card_token,
      owner_user_token: owner.user_token,
    });
    expect(await store.readHold(owner.user_token, hold_jit ?? '')).toEqual(before);
    expect(log.lines().some((line) => line.script === 'apply' && line.level === 'warn')).toBe(true);
  });

  it('emits one event per applied message, of its type, with the note and the hold after', async () => {
    const card = freshCard(business_card);
    const a = message(auth, card, 1_000, { now_ms: now_ms + day_ms });
    const events = [
      a,
      message(reversal, card, 100, linkedTo(a, { now_ms: now_ms + day_ms })),
      message(clearing, card, 500, linkedTo(a, { now_ms: now_ms + day_ms })),
      message('pgfs.refund', card, 50, { now_ms: now_ms + day_ms }),
      message('pgfs.authorization.advice', card, 600, linkedTo(a, { now_ms: now_ms + day_ms })),
    ];
    await codes(events, [{ card }]);
    const types = (await outboxEvents(redis, store, card.user_token))
      .filter((event) => event.card_token === card.card_token)
      .map((event) => [event.type, event.note ?? null, event.hold?.amount_minor ?? null]);
    expect(types).toEqual([
      ['authorization.approved', null, 1_000],
      ['authorization.reversed', 'released', 900],
      ['transaction.cleared', 'captured', 400],
      ['transaction.refunded', 'refund_counters_unchanged', null],
      ['authorization.advice', 'advice_lowered', 100],
    ]);
  });
});
