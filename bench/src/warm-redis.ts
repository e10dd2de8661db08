import assert from 'node:assert/strict';
import { createCardState } from '@afc/card-state';
import { windowStarts } from '@afc/domain';
import type { Logger } from '@afc/log';
import { closeRedis, createRedis, waitReady } from '@afc/redis';
import { localServiceUrls } from '@afc/testkit';
import type { CardPlan, PlannedCard } from './card-plan.ts';
import { velocity_limits } from './card-plan.ts';

// Cards written concurrently: ioredis pipelines them on one connection.
const batch_cards = 500;

// The hot path, not cold loads: every card's state is put in Redis before any request, through
// the card-state store's own write-through (the same versioned writes the authorizer's loader
// and the control plane make), mirroring the rows seed-postgres.ts wrote. A miss during the
// run would still load from PostgreSQL; the report shows afc_jit_state_lookups_total.
export async function warmRedis(plan: CardPlan, key_prefix: string, logger: Logger): Promise<void> {
  const redis = createRedis(
    {
      url: localServiceUrls.redis,
      key_prefix,
      command_timeout_ms: 10_000,
      max_retries_per_request: 1,
      connect_timeout_ms: 5_000,
      connection_name: 'bench-seed',
    },
    logger,
  );
  try {
    await waitReady(redis, 10_000);
    const store = await createCardState({
      redis,
      partitions: plan.partitions,
      refund_mode: 'counters_unchanged',
      logger,
    });
    const starts = windowStarts(Date.now());
    const zero = (start: number) => ({ start, amount_minor: 0, count: 0 });
    const counters = { day: zero(starts.day), week: zero(starts.week), month: zero(starts.month) };
    const writeOne = async (card: PlannedCard) => {
      const { card_token, user_token } = card;
      await Promise.all([
        store.writeCard({
          card_token,
          user_token,
          program: 'business',
          state: 'active',
          expiration_year: 2099,
          expiration_month: 12,
          currency: 'USD',
          version: 1,
        }),
        store.writeControls(user_token, card_token, {
          per_transaction_limit_minor: card.per_transaction_limit_minor,
          ...velocity_limits,
          mcc_allow: [],
          mcc_block: card.mcc_block,
          blocked_merchant_ids: [],
          blocked_countries: card.blocked_countries,
          version: 1,
        }),
        store.writeCardholder({ user_token, program: 'business', status: 'active', version: 1 }),
        store.writeCounters(user_token, card_token, counters),
      ]);
    };
    for (let start = 0; start < plan.cards.length; start += batch_cards) {
      await Promise.all(plan.cards.slice(start, start + batch_cards).map(writeOne));
    }
    const sample = plan.cards[plan.cards.length - 1];
    assert.ok(sample !== undefined);
    const state = await store.readState(sample.user_token, sample.card_token);
    assert.ok(
      state.card !== null && state.controls !== null && state.counters !== null,
      'warm state readable',
    );
  } finally {
    await closeRedis(redis, 2_000);
  }
}
