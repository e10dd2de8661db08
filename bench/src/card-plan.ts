import assert from 'node:assert/strict';
import { partitionOf } from '@afc/redis';

// The business cards a run seeds, decided before anything is written so that PostgreSQL,
// Redis and the load generator agree on every token and limit.
export interface PlannedCard {
  readonly card_token: string;
  readonly user_token: string;
  readonly company_index: number;
  readonly per_transaction_limit_minor: number;
  readonly mcc_block: readonly string[];
  readonly blocked_countries: readonly string[];
}

export interface PlannedUser {
  readonly user_token: string;
  readonly company_index: number;
}

export interface CardPlan {
  readonly companies: number;
  readonly users: readonly PlannedUser[];
  readonly cards: readonly PlannedCard[];
  readonly partitions: number;
  readonly partitions_covered: number;
}

// Per-transaction limits of 50.00 to 1,000.00 USD; the traffic draws about one amount in ten
// above the card's limit (jit-traffic.ts), which is where the ~10 % declines come from.
export const per_transaction_limits_minor = [5_000, 10_000, 25_000, 50_000, 100_000] as const;
// Velocity limits high enough never to decline within a run, so the script still evaluates
// them (the realistic cost) without shifting the decline rate as counters grow.
export const velocity_limits = {
  daily_limit_minor: 100_000_000,
  weekly_limit_minor: 500_000_000,
  monthly_limit_minor: 2_000_000_000,
  daily_count_limit: 100_000,
  weekly_count_limit: 500_000,
  monthly_count_limit: 2_000_000,
} as const;
// Merchant rules the traffic never trips (it never sends these), evaluated on every decision.
const blocked_mcc = ['7995'];
const blocked_country = ['PRK'];

// A fifth of the cardholders hold two cards: a user's cards share one partition.
export function planCards(card_count: number, partitions: number): CardPlan {
  assert.ok(Number.isSafeInteger(card_count) && card_count >= partitions, 'at least one card per partition');
  const user_count = Math.ceil(card_count * 0.8);
  const companies = Math.max(1, Math.min(200, Math.floor(user_count / 40)));
  const users: PlannedUser[] = [];
  for (let index = 0; index < user_count; index += 1) {
    users.push({ user_token: `bench-user-${index}`, company_index: index % companies });
  }
  const cards: PlannedCard[] = [];
  for (let index = 0; index < card_count; index += 1) {
    const user = users[index % user_count];
    assert.ok(user !== undefined);
    const limit = per_transaction_limits_minor[index % per_transaction_limits_minor.length];
    assert.ok(limit !== undefined);
    cards.push({
      card_token: `bench-card-${index}`,
      user_token: user.user_token,
      company_index: user.company_index,
      per_transaction_limit_minor: limit,
      mcc_block: index % 4 === 0 ? blocked_mcc : [],
      blocked_countries: index % 5 === 0 ? blocked_country : [],
    });
  }
  const covered = new Set(users.map((user) => partitionOf(user.user_token, partitions))).size;
  assert.equal(covered, partitions, `cards cover ${covered} of ${partitions} partitions`);
  return { companies, users, cards, partitions, partitions_covered: covered };
}
