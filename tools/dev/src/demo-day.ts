// `pnpm demo`: a scripted day of card activity against the running platform. Each run issues
// its own cards (under the seeded company's employees) and its own personal cardholder, so the
// expected outcomes do not depend on earlier runs; then it drives purchases, declines of every
// kind, an incremental, a reversal, clearings of other amounts, refunds, a suspension and late
// and repeated webhooks through marqeta-sim, and checks what the ledger says against the script.
import type { Logger } from '@afc/log';
import { jitTokenOf, type Merchant, SimDriver, type SimTransaction } from './demo-activity.ts';
import {
  type CardExpectation,
  checkLedger,
  type LedgerReport,
  type PersonalExpectation,
  type RowExpectation,
} from './demo-checks.ts';
import { type DemoCard, type DemoPersonal, issueDemoCards } from './demo-setup.ts';
import { type StepRow, Steps } from './demo-steps.ts';
import type { Platform } from './platform.ts';
import type { SeedState } from './seed.ts';

export interface DemoTarget {
  readonly platform: Platform;
  readonly seed: SeedState;
  readonly logger: Logger;
  // Bound of each wait for settlement and webhooks.
  readonly settle_timeout_ms: number;
}

export interface DemoReport {
  readonly run_id: string;
  readonly steps: readonly StepRow[];
  readonly ledger: LedgerReport;
  readonly ok: boolean;
}

const m = (mid: string, name: string, mcc: string, country_code = 'USA'): Merchant => ({
  mid,
  name,
  mcc,
  country_code,
});
const merchants = {
  hotel: m('demo-hotel', 'Harbour Hotel', '7011'),
  grocer: m('demo-grocer', 'Corner Grocer', '5411'),
  electronics: m('demo-electronics', 'Volt Electronics', '5732'),
  casino: m('demo-casino', 'Lucky Casino', '7995'),
  blocked: m('demo-blocked-shop', 'Blocked Shop', '5999'),
  abroad: m('demo-pyongyang', 'Pyongyang Souvenirs', '5947', 'PRK'),
  restaurant: m('demo-bistro', 'Bistro Central', '5812'),
  coffee: m('demo-coffee', 'Bean There', '5814'),
  taxi: m('demo-taxi', 'City Cabs', '4121'),
  books: m('demo-books', 'Paper Trail', '5942'),
};

export async function runDemoDay(target: DemoTarget): Promise<DemoReport> {
  const sim = new SimDriver(target.platform);
  const run = await issueDemoCards(target);
  const steps = new Steps();
  const expectations: CardExpectation[] = [];
  // Webhooks held while the clearings and refund happen: they reach us late, batched.
  await sim.setWebhooksPaused(true);
  let late_events: string[] = [];
  try {
    const ada = await adaDay(sim, steps, run.cards.ada);
    expectations.push(ada.expectation);
    late_events = ada.late_events;
    const ben = await benDay(sim, steps, run.cards.ben);
    expectations.push(ben.expectation);
    late_events.push(...ben.late_events);
  } finally {
    await sim.setWebhooksPaused(false);
  }
  await lateWebhooks(sim, steps, late_events, target.settle_timeout_ms);
  expectations.push(await cleoDay(sim, steps, run.cards.cleo, target));
  const personal = await personalDay(sim, steps, run.personal);
  steps.notAvailable(
    'expired card',
    'declined EXPIRED_CARD',
    'the simulator issues cards valid for 4 years and cannot age one; the rule is tested in packages/domain',
  );
  const ledger = await checkLedger(target, run, expectations, personal);
  return { run_id: run.run_id, steps: steps.rows, ledger, ok: steps.ok && ledger.ok };
}

async function adaDay(sim: SimDriver, steps: Steps, card: DemoCard) {
  const who = 'Ada';
  const hotel = await steps.authorize(sim, who, card, 80_00, merchants.hotel, 'approved');
  await steps.followUp(sim, who, 'authorization/incremental', hotel, 20_00, 'approved', 'hotel +20.00');
  const grocery = await steps.authorize(sim, who, card, 30_00, merchants.grocer, 'approved');
  await steps.followUp(sim, who, 'reversal', grocery, 30_00, 'applied', 'grocery reversed');
  const over = await steps.authorize(
    sim,
    who,
    card,
    150_00,
    merchants.electronics,
    'declined AMOUNT_LIMIT_EXCEEDED',
  );
  const casino = await steps.authorize(sim, who, card, 12_00, merchants.casino, 'declined INVALID_MERCHANT');
  const shop = await steps.authorize(sim, who, card, 9_00, merchants.blocked, 'declined INVALID_MERCHANT');
  const abroad = await steps.authorize(
    sim,
    who,
    card,
    15_00,
    merchants.abroad,
    'declined TRANSACTION_NOT_PERMITTED',
  );
  const dinner = await steps.authorize(sim, who, card, 40_00, merchants.restaurant, 'approved');
  const hotel_clearing = await steps.followUp(
    sim,
    who,
    'clearing',
    hotel,
    95_00,
    'applied',
    'hotel clears 95.00 of 100.00',
  );
  const dinner_clearing = await steps.followUp(
    sim,
    who,
    'clearing',
    dinner,
    46_00,
    'applied',
    'dinner clears 46.00 (tip)',
  );
  const refund = await steps.followUp(sim, who, 'refund', dinner, 25_00, 'applied', 'dinner refund 25.00');
  const expectation: CardExpectation = {
    label: "Ada's card",
    card,
    // Counted today: the hotel's 100.00 (5.00 still held), dinner 40.00 + 6.00 over its
    // authorization; the reversed grocery gave back its amount and its count; the refund
    // leaves business counters alone (REFUND_BUSINESS_MODE counters_unchanged).
    day_amount_minor: 146_00,
    day_count: 2,
    rows: [
      {
        jit_token: jitTokenOf(hotel),
        state: 'partially_cleared',
        authorized_minor: 100_00,
        cleared_minor: 95_00,
      },
      { jit_token: jitTokenOf(grocery), state: 'reversed', authorized_minor: 30_00, reversed_minor: 30_00 },
      {
        jit_token: jitTokenOf(dinner),
        state: 'cleared',
        authorized_minor: 40_00,
        cleared_minor: 46_00,
        refunded_minor: 25_00,
      },
      declined(over, 'AMOUNT_LIMIT_EXCEEDED'),
      declined(casino, 'INVALID_MERCHANT'),
      declined(shop, 'INVALID_MERCHANT'),
      declined(abroad, 'TRANSACTION_NOT_PERMITTED'),
    ],
  };
  return { expectation, late_events: [hotel_clearing, dinner_clearing, refund].map((t) => t.token) };
}

async function benDay(sim: SimDriver, steps: Steps, card: DemoCard) {
  const who = 'Ben';
  const coffee = await steps.authorize(sim, who, card, 5_00, merchants.coffee, 'approved');
  const taxi = await steps.authorize(sim, who, card, 6_00, merchants.taxi, 'approved');
  const third = await steps.authorize(
    sim,
    who,
    card,
    7_00,
    merchants.books,
    'declined TRANSACTION_COUNT_LIMIT_EXCEEDED',
  );
  const clearing = await steps.followUp(sim, who, 'clearing', coffee, 5_00, 'applied', 'coffee clears 5.00');
  const expectation: CardExpectation = {
    label: "Ben's card",
    card,
    day_amount_minor: 11_00,
    day_count: 2,
    rows: [
      { jit_token: jitTokenOf(coffee), state: 'cleared', authorized_minor: 5_00, cleared_minor: 5_00 },
      { jit_token: jitTokenOf(taxi), state: 'pending', authorized_minor: 6_00 },
      declined(third, 'TRANSACTION_COUNT_LIMIT_EXCEEDED'),
    ],
  };
  return { expectation, late_events: [clearing.token] };
}

// The clearings and the refund were held at Marqeta: they arrive after everything else, then
// the hotel's clearing is delivered a second time, as Marqeta may.
async function lateWebhooks(sim: SimDriver, steps: Steps, late: readonly string[], timeout_ms: number) {
  const delivered = await sim.waitDelivered(late, 'event', timeout_ms);
  steps.record(
    'late webhooks',
    `${late.length} held events delivered late, answered 200`,
    delivered ? `${late.length} delivered after the later purchases` : 'not all delivered in time',
    delivered,
  );
  const first = late[0];
  if (first === undefined) return;
  await sim.resendTransactionWebhook(first);
  const again = await sim.waitDelivered([first], 'replay', timeout_ms);
  steps.record(
    'duplicate webhook',
    'hotel clearing delivered twice, counted once',
    again ? 'delivered again, answered 200 (ledger checked below)' : 'not delivered in time',
    again,
  );
}

async function cleoDay(sim: SimDriver, steps: Steps, card: DemoCard, target: DemoTarget) {
  const who = 'Cleo';
  const lunch = await steps.authorize(sim, who, card, 10_00, merchants.grocer, 'approved');
  await steps.suspend(target, card);
  const refused = await steps.authorize(
    sim,
    who,
    card,
    10_00,
    merchants.grocer,
    'declined 1003',
    'after suspension',
  );
  const direct = await sim.jitDirect(card.card_token, card.user_token, 10_00);
  steps.record(
    `${who}: JIT straight to our gateway`,
    'declined CARD_NOT_ACTIVE',
    `${direct.status === 402 ? 'declined' : `HTTP ${direct.status}`} ${direct.decline_reason ?? ''}${direct.memo === undefined ? '' : ` (${direct.memo})`}`,
    direct.status === 402 && direct.decline_reason === 'CARD_NOT_ACTIVE',
  );
  return {
    label: "Cleo's card",
    card,
    day_amount_minor: 10_00,
    day_count: 1,
    rows: [
      { jit_token: jitTokenOf(lunch), state: 'pending', authorized_minor: 10_00 },
      // Declined by Marqeta alone: the row comes from its transaction webhook.
      { jit_token: jitTokenOf(refused), state: 'declined' },
      { jit_token: direct.jit_token, state: 'declined', decline_reason: 'CARD_NOT_ACTIVE' },
    ],
  } satisfies CardExpectation;
}

async function personalDay(
  sim: SimDriver,
  steps: Steps,
  personal: DemoPersonal,
): Promise<PersonalExpectation> {
  const who = 'Pat (personal)';
  const card = personal.card;
  const shoes = await steps.authorize(sim, who, card, 60_00, merchants.electronics, 'approved');
  const dinner = await steps.authorize(
    sim,
    who,
    card,
    50_00,
    merchants.restaurant,
    'declined INSUFFICIENT_FUNDS',
  );
  await steps.followUp(sim, who, 'clearing', shoes, 60_00, 'applied', 'clears 60.00');
  await steps.followUp(sim, who, 'refund', shoes, 10_00, 'applied', 'refund 10.00 to the wallet');
  const groceries = await steps.authorize(sim, who, card, 45_00, merchants.grocer, 'approved');
  return {
    ...personal,
    label: "Pat's card",
    // 100.00 deposited − 60.00 cleared + 10.00 refunded − 45.00 held.
    available_minor: 5_00,
    held_minor: 45_00,
    rows: [
      {
        jit_token: jitTokenOf(shoes),
        state: 'cleared',
        authorized_minor: 60_00,
        cleared_minor: 60_00,
        refunded_minor: 10_00,
      },
      { jit_token: jitTokenOf(dinner), state: 'declined' },
      { jit_token: jitTokenOf(groceries), state: 'pending', authorized_minor: 45_00 },
    ],
  };
}

function declined(transaction: SimTransaction, decline_reason: string): RowExpectation {
  return { jit_token: jitTokenOf(transaction), state: 'declined', decline_reason };
}
