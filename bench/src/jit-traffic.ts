import { buildJitRequest } from '@afc/marqeta';
import { formatMinor } from '@afc/money';

// What the load generator knows about a card: enough to draw amounts around its limit.
export interface TrafficCard {
  readonly card_token: string;
  readonly user_token: string;
  readonly per_transaction_limit_minor: number;
}

interface Merchant {
  readonly name: string;
  readonly mcc: string;
  readonly mid: string;
  readonly country: string;
}

// Everyday card-present and e-commerce merchants in a handful of countries. None of them is
// blocked by the seeded controls (card-plan.ts blocks MCC 7995 and PRK, never sent here).
const merchants: readonly Merchant[] = [
  { name: 'Neighbourhood Grocer', mcc: '5411', mid: '000000000011111', country: 'USA' },
  { name: 'Bay Fuel Station', mcc: '5541', mid: '000000000022222', country: 'USA' },
  { name: 'Corner Coffee', mcc: '5814', mid: '000000000033333', country: 'USA' },
  { name: 'Sky Airlines', mcc: '4511', mid: '000000000044444', country: 'USA' },
  { name: 'Metro Transit', mcc: '4111', mid: '000000000055555', country: 'USA' },
  { name: 'Cloud Hosting Inc', mcc: '5734', mid: '000000000066666', country: 'USA' },
  { name: 'Office Supplies Co', mcc: '5943', mid: '000000000077777', country: 'CAN' },
  { name: 'Maple Hotel', mcc: '7011', mid: '000000000088888', country: 'CAN' },
  { name: 'Thames Taxi', mcc: '4121', mid: '000000000099999', country: 'GBR' },
  { name: 'London Books', mcc: '5942', mid: '000000000101010', country: 'GBR' },
  { name: 'Brasserie du Port', mcc: '5812', mid: '000000000121212', country: 'FRA' },
  { name: 'Berlin Elektronik', mcc: '5732', mid: '000000000131313', country: 'DEU' },
  { name: 'Hotel Reforma', mcc: '7011', mid: '000000000141414', country: 'MEX' },
  { name: 'Tokyo Rail', mcc: '4112', mid: '000000000151515', country: 'JPN' },
  { name: 'Sydney Car Rental', mcc: '7512', mid: '000000000161616', country: 'AUS' },
  { name: 'Software Store Online', mcc: '5817', mid: '000000000171717', country: 'IRL' },
  { name: 'Conference Tickets', mcc: '7399', mid: '000000000181818', country: 'NLD' },
  { name: 'Pharmacy Plus', mcc: '5912', mid: '000000000191919', country: 'USA' },
  { name: 'Ride Share', mcc: '4121', mid: '000000000202020', country: 'USA' },
  { name: 'Team Lunch Deli', mcc: '5814', mid: '000000000212121', country: 'ESP' },
];
const networks = ['VISA', 'MASTERCARD'] as const;

// mulberry32: a seeded generator, so two runs send the same sequence of cards and amounts.
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(items: readonly T[], random: () => number): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

// Integer minor units only. About one amount in ten lies above the card's per-transaction
// limit (up to twice it); the rest from 1.00 up to the limit, skewed to small purchases.
export function drawAmountMinor(limit_minor: number, decline_share: number, random: () => number): number {
  if (random() < decline_share) return limit_minor + 1 + Math.floor(random() * limit_minor);
  const u = random();
  return Math.min(limit_minor, 100 + Math.floor((limit_minor - 100) * u * u));
}

export interface TrafficOptions {
  readonly cards: readonly TrafficCard[];
  // Makes JIT tokens unique across phases and runs sharing one Redis prefix.
  readonly token_prefix: string;
  readonly seed: number;
  readonly decline_share: number;
}

// A fresh ~1.5 KB JIT funding request per call: unique JIT and transaction tokens, a random
// card, merchant, network and amount.
export function jitBodyFactory(options: TrafficOptions): () => string {
  const random = seededRandom(options.seed);
  let sequence = 0;
  return () => {
    sequence += 1;
    const card = pick(options.cards, random);
    const merchant = pick(merchants, random);
    const amount_minor = drawAmountMinor(card.per_transaction_limit_minor, options.decline_share, random);
    const body = buildJitRequest({
      transaction_token: `txn-${options.token_prefix}-${sequence}`,
      jit_token: `jit-${options.token_prefix}-${sequence}`,
      method: 'pgfs.authorization',
      card_token: card.card_token,
      user_token: card.user_token,
      amount: formatMinor(amount_minor, 'USD'),
      currency_code: 'USD',
      mcc: merchant.mcc,
      mid: merchant.mid,
      merchant_name: merchant.name,
      country_code: merchant.country,
      network: pick(networks, random),
    });
    return JSON.stringify(body);
  };
}

export interface FollowUpOptions {
  // Shares of new authorizations that a full reversal, or a full clearing, follows.
  readonly reversal_share: number;
  readonly clearing_share: number;
  // Requests sent between an authorization and its follow-up.
  readonly after_requests: number;
}

interface PendingFollowUp {
  readonly due_sequence: number;
  readonly method: 'pgfs.authorization.reversal' | 'pgfs.authorization.clearing';
  readonly original_jit_token: string;
  readonly card: TrafficCard;
  readonly merchant: Merchant;
  readonly amount_minor: number;
}

// The end-to-end traffic: authorizations as above, and later in the stream a reversal or a
// clearing of some of them (the whole amount, naming the original JIT token), so settlement
// sees every kind of event it turns into ledger rows. An authorization that will be followed
// up is drawn within the card's limit: it is approved, so the follow-up has a hold to act on.
export function mixedBodyFactory(options: TrafficOptions & { readonly follow_ups: FollowUpOptions }) {
  const { reversal_share, clearing_share, after_requests } = options.follow_ups;
  const random = seededRandom(options.seed);
  // At most one follow-up is queued per request and each waits after_requests: bounded.
  const pending: PendingFollowUp[] = [];
  let sequence = 0;
  const token = (kind: string) => `${kind}-${options.token_prefix}-${sequence}`;
  return (): string => {
    sequence += 1;
    const due = pending[0];
    if (due !== undefined && due.due_sequence <= sequence) {
      pending.shift();
      return JSON.stringify(
        buildJitRequest({
          transaction_token: token('txn'),
          jit_token: token('jit'),
          method: due.method,
          original_jit_funding_token: due.original_jit_token,
          card_token: due.card.card_token,
          user_token: due.card.user_token,
          amount: formatMinor(due.amount_minor, 'USD'),
          currency_code: 'USD',
          mcc: due.merchant.mcc,
          mid: due.merchant.mid,
          merchant_name: due.merchant.name,
          country_code: due.merchant.country,
        }),
      );
    }
    const card = pick(options.cards, random);
    const merchant = pick(merchants, random);
    const draw = random();
    const method =
      draw < reversal_share
        ? 'pgfs.authorization.reversal'
        : draw < reversal_share + clearing_share
          ? 'pgfs.authorization.clearing'
          : undefined;
    const amount_minor = drawAmountMinor(
      card.per_transaction_limit_minor,
      method === undefined ? options.decline_share : 0,
      random,
    );
    if (method !== undefined) {
      pending.push({
        due_sequence: sequence + after_requests,
        method,
        original_jit_token: token('jit'),
        card,
        merchant,
        amount_minor,
      });
    }
    return JSON.stringify(
      buildJitRequest({
        transaction_token: token('txn'),
        jit_token: token('jit'),
        method: 'pgfs.authorization',
        card_token: card.card_token,
        user_token: card.user_token,
        amount: formatMinor(amount_minor, 'USD'),
        currency_code: 'USD',
        mcc: merchant.mcc,
        mid: merchant.mid,
        merchant_name: merchant.name,
        country_code: merchant.country,
        network: pick(networks, random),
      }),
    );
  };
}
