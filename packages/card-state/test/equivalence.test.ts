import type { RefundMode } from '@afc/domain';
import type { RedisClient } from '@afc/redis';
import { createTestRedisPrefix, uniqueTestId } from '@afc/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CardStateStore } from '../src/index.ts';
import { expectSameAsDomain } from './equivalence.ts';
import { closeClients, sharedRedis, storeOn } from './helpers.ts';
import { buildState, materialize, ops_arb, state_arb } from './sim-generators.ts';

const prefix = createTestRedisPrefix();
let redis: RedisClient;
let stores: Record<RefundMode, CardStateStore>;

beforeAll(async () => {
  redis = await sharedRedis(prefix.prefix);
  stores = {
    counters_unchanged: await storeOn(redis, 'counters_unchanged'),
    restore_counters: await storeOn(redis, 'restore_counters'),
  };
});

afterAll(async () => {
  await closeClients([redis]);
  await prefix.cleanup();
});

describe('the scripts decide and apply exactly as @afc/domain simulate (property, real Redis)', () => {
  it('same outcome and memo or note per message; same counters, holds, wallets, decisions and events at the end', async () => {
    const seen = new Set<string>();
    let run = 0;
    const unique = uniqueTestId('r');
    await fc.assert(
      fc.asyncProperty(state_arb, ops_arb, async (draw, ops) => {
        run += 1;
        const id = `${unique}-${run}`;
        const { initial, user_of } = buildState(draw, id);
        const events = materialize(ops, id, [...user_of.keys()]);
        const steps = await expectSameAsDomain(redis, stores[initial.refund_mode], {
          initial,
          events,
          user_of,
        });
        const decided = new Set<string>();
        for (const step of steps) {
          seen.add(step.code ?? step.outcome);
          // A replay of a token we never decided: the decide after a stand-in held it.
          if (step.outcome === 'replay' && !decided.has(step.jit_token)) seen.add('stand_in_replay');
          // card_not_found is also an informative message's note: the decision's is its own.
          if (step.outcome === 'decline' && step.code === 'card_not_found')
            seen.add('decline_card_not_found');
          if (step.decision !== null) decided.add(step.jit_token);
        }
      }),
      { numRuns: 100 },
    );
    // Not vacuous: approvals, the limit rules, effects and replays all happened.
    for (const code of [
      'approve',
      'replay',
      'stand_in_replay',
      'timeout',
      'duplicate',
      'card_not_found',
      'decline_card_not_found',
      'card_not_active',
      'cardholder_not_found',
      'daily_amount_limit',
      'per_transaction_limit',
      'insufficient_funds',
      'balance_not_found',
      'amount_invalid',
      'original_not_found',
      'released',
      'captured',
      'over_captured',
      'force_post',
      'standin_held',
      'remaining_allowance',
      'wallet_balance',
    ]) {
      expect([...seen], code).toContain(code);
    }
  });
});
