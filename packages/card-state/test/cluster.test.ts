import type { RefundMode } from '@afc/domain';
import { closeRedis, createRedis, type RedisClient, waitReady } from '@afc/redis';
import { uniqueTestId } from '@afc/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CardStateStore } from '../src/index.ts';
import { startThreeMasterCluster, type ThreeMasterCluster } from './cluster.ts';
import { concurrency_arb, expectNoOverspend } from './concurrency.ts';
import { expectSameAsDomain } from './equivalence.ts';
import { captureLogger, client_options, storeOn } from './helpers.ts';
import { expectMixedHistorySafe, mixed_arb } from './mixed-concurrency.ts';
import { buildState, materialize, ops_arb, state_arb } from './sim-generators.ts';

let cluster: ThreeMasterCluster;
let clients: RedisClient[] = [];
let stores: Record<RefundMode, CardStateStore>;
let concurrent: CardStateStore[];
// One prefix: every connection must see the same keys.
const key_prefix = `${uniqueTestId('k')}:`;

async function clusterClient(): Promise<RedisClient> {
  const client = createRedis(
    { cluster_nodes: cluster.urls, key_prefix, ...client_options },
    captureLogger().logger,
  );
  await waitReady(client, 10_000);
  clients.push(client);
  return client;
}

beforeAll(async () => {
  cluster = await startThreeMasterCluster();
  const main = await clusterClient();
  stores = {
    counters_unchanged: await storeOn(main, 'counters_unchanged'),
    restore_counters: await storeOn(main, 'restore_counters'),
  };
  // Two of three coalesce their writes per turn, as the authorizer's store does.
  concurrent = await Promise.all(
    [main, await clusterClient(), await clusterClient()].map((c, i) =>
      storeOn(c, 'counters_unchanged', undefined, i > 0),
    ),
  );
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => closeRedis(client, 2_000)));
  clients = [];
  await cluster?.stop();
});

describe('on a Redis Cluster of three masters (ioredis Cluster client)', () => {
  it('the equivalence property holds, with no CROSSSLOT error, and the users spread over every master', async () => {
    let run = 0;
    const unique = uniqueTestId('c');
    await fc.assert(
      fc.asyncProperty(state_arb, ops_arb, async (draw, ops) => {
        run += 1;
        const { initial, user_of } = buildState(draw, `${unique}-${run}`);
        const events = materialize(ops, `${unique}-${run}`, [...user_of.keys()]);
        await expectSameAsDomain(clients[0] as RedisClient, stores[initial.refund_mode], {
          initial,
          events,
          user_of,
        });
      }),
      { numRuns: 40 },
    );
    // Each master owns a third of the slots: every one of them holds some user's keys.
    const used = await Promise.all(cluster.admins.map((admin) => admin.dbsize()));
    expect(used.every((keys) => keys > 0)).toBe(true);
  });

  it('concurrent decisions over three cluster connections never overspend', async () => {
    await fc.assert(
      fc.asyncProperty(concurrency_arb, async (draw) => {
        await expectNoOverspend(concurrent, draw);
      }),
      { numRuns: 8 },
    );
  });

  it('mixed concurrent histories over three cluster connections stay within every limit and the wallet', async () => {
    await fc.assert(
      fc.asyncProperty(mixed_arb, async (draw) => {
        await expectMixedHistorySafe(concurrent, clients[0] as RedisClient, draw);
      }),
      { numRuns: 8, endOnFailure: true },
    );
  });
});
