import type { RedisClient } from '@afc/redis';
import { createTestRedisPrefix } from '@afc/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CardStateStore } from '../src/index.ts';
import { concurrency_arb, expectNoOverspend } from './concurrency.ts';
import { closeClients, sharedRedis, storeOn } from './helpers.ts';

const prefix = createTestRedisPrefix();
const connections = 4;
let clients: RedisClient[];
let stores: CardStateStore[];

beforeAll(async () => {
  clients = await Promise.all(Array.from({ length: connections }, () => sharedRedis(prefix.prefix)));
  stores = await Promise.all(clients.map((client) => storeOn(client)));
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
});
