import type { RedisClient } from '@afc/redis';
import { createTestRedisPrefix } from '@afc/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CardStateStore } from '../src/index.ts';
import { concurrency_arb, expectNoOverspend } from './concurrency.ts';
import { closeClients, sharedRedis, storeOn } from './helpers.ts';
import { expectMixedHistorySafe, mixed_arb } from './mixed-concurrency.ts';

const prefix = createTestRedisPrefix();
const connections = 4;
let clients: RedisClient[];
let stores: CardStateStore[];

beforeAll(async () => {
  clients = await Promise.all(Array.from({ length: connections }, () => sharedRedis(prefix.prefix)));
  // Half the stores coalesce their writes per turn, as the authorizer's does.
  stores = await Promise.all(
    clients.map((client, i) => storeOn(client, 'counters_unchanged', undefined, i % 2 === 0)),
  );
});

afterAll(async () => {
  await closeClients(clients);
  await prefix.cleanup();
});

describe('concurrent decisions on one card over several connections (property, real Redis)', () => {
  it('never approve past a limit or the wallet; counters end at approved minus released', async () => {
    let approved = 0;
    let declined = 0;
    await fc.assert(
      fc.asyncProperty(concurrency_arb, async (draw) => {
        const counts = await expectNoOverspend(stores, draw);
        approved += counts.approved;
        declined += counts.declined;
      }),
      { numRuns: 15 },
    );
    // Not vacuous: the limits were reached under load, and much was approved before that.
    expect(approved).toBeGreaterThan(100);
    expect(declined).toBeGreaterThan(100);
  });

  it('mixed histories (incrementals, full and partial reversals, clearings, replays, more authorizations at once) stay within every limit and the wallet, in the order Redis ran them', async () => {
    const tally = { approved: 0, limit_declines: 0, incrementals_approved: 0, replays: 0 };
    await fc.assert(
      fc.asyncProperty(mixed_arb, async (draw) => {
        const run = await expectMixedHistorySafe(stores, clients[0] as RedisClient, draw);
        for (const key of Object.keys(tally) as (keyof typeof tally)[]) tally[key] += run[key];
      }),
      { numRuns: 25, endOnFailure: true },
    );
    // Not vacuous: limits were reached, incrementals approved and replays answered.
    expect(tally.approved).toBeGreaterThan(100);
    expect(tally.limit_declines).toBeGreaterThan(50);
    expect(tally.incrementals_approved).toBeGreaterThan(5);
    expect(tally.replays).toBeGreaterThan(10);
  });
});
