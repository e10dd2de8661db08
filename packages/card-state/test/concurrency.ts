import type { CardState, SpendingControls } from '@afc/domain';
import fc from 'fast-check';
import { expect } from 'vitest';
import type { CardStateStore, DecideRequest } from '../src/index.ts';
import {
  authorization,
  business_card,
  freshCard,
  informative,
  open_controls,
  personal_card,
  seed,
} from './helpers.ts';

// Many decisions at once against one card with tight limits and a tight wallet, spread over
// several connections (stores): approved spend never passes a limit or the wallet by one minor
// unit, and the counters end at exactly approved minus released.

interface Outcome {
  readonly request: DecideRequest;
  readonly approved: boolean;
}

const controls_arb = fc.record({
  daily_limit_minor: fc.integer({ min: 1_000, max: 20_000 }),
  daily_count_limit: fc.integer({ min: 3, max: 40 }),
});

export const concurrency_arb = fc.record({
  personal: fc.boolean(),
  available: fc.integer({ min: 500, max: 15_000 }),
  controls: controls_arb,
  amounts: fc.array(fc.integer({ min: 1, max: 900 }), { minLength: 60, maxLength: 120 }),
  release_every: fc.integer({ min: 2, max: 4 }),
});

type Draw = typeof concurrency_arb extends fc.Arbitrary<infer T> ? T : never;

async function decideAll(
  stores: readonly CardStateStore[],
  requests: readonly DecideRequest[],
): Promise<Outcome[]> {
  const results = await Promise.all(
    requests.map((request, i) => (stores[i % stores.length] as CardStateStore).decide(request)),
  );
  return results.map((result, i) => {
    expect(result.status).toBe('decided');
    return {
      request: requests[i] as DecideRequest,
      approved: result.status === 'decided' && result.outcome === 'approve',
    };
  });
}

const sum = (outcomes: readonly Outcome[]) =>
  outcomes.reduce((total, o) => total + o.request.amount_minor, 0);

function expectWithin(
  outcomes: readonly Outcome[],
  controls: SpendingControls,
  card: CardState,
  available: number,
) {
  const approved = outcomes.filter((o) => o.approved);
  expect(sum(approved)).toBeLessThanOrEqual(controls.daily_limit_minor ?? Number.MAX_SAFE_INTEGER);
  expect(approved.length).toBeLessThanOrEqual(controls.daily_count_limit ?? Number.MAX_SAFE_INTEGER);
  if (card.program === 'personal') expect(sum(approved)).toBeLessThanOrEqual(available);
  return approved;
}

export async function expectNoOverspend(
  stores: readonly CardStateStore[],
  draw: Draw,
): Promise<{ approved: number; declined: number }> {
  const store = stores[0] as CardStateStore;
  const card = freshCard(draw.personal ? personal_card : business_card);
  const controls = { ...open_controls, ...draw.controls };
  await seed(store, { card, controls, balance: { available_minor: draw.available, held_minor: 0 } });
  const first = await decideAll(
    stores,
    draw.amounts.map((amount_minor) => authorization(card, { amount_minor })),
  );
  const approved = expectWithin(first, controls, card, draw.available);
  // Release some approvals (full reversals give the count back) while more decisions run.
  const released = approved.filter((_, i) => i % draw.release_every === 0);
  const reversals = released.map((o, i) =>
    (stores[i % stores.length] as CardStateStore).apply(
      informative(card, 'reversal', {
        original_jit_token: o.request.jit_token,
        amount_minor: o.request.amount_minor,
      }),
    ),
  );
  const more = decideAll(
    stores,
    draw.amounts.map((amount_minor) => authorization(card, { amount_minor })),
  );
  const [second] = await Promise.all([more, Promise.all(reversals)]);
  const approved_second = second.filter((o) => o.approved);
  const net = sum(approved) - sum(released) + sum(approved_second);
  expect(net).toBeLessThanOrEqual(controls.daily_limit_minor);
  const state = await store.readState(card.user_token, card.card_token);
  expect(state.counters?.day.amount_minor).toBe(net);
  expect(state.counters?.day.count).toBe(approved.length - released.length + approved_second.length);
  if (card.program === 'personal') {
    expect(state.balance).toEqual({ available_minor: draw.available - net, held_minor: net });
  }
  const declined = first.length + second.length - approved.length - approved_second.length;
  return { approved: approved.length + approved_second.length, declined };
}
