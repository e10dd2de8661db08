import { createLogger } from '@afc/log';
import { createPostgres } from '@afc/postgres';
import { clearOfUtcMidnight } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outcomeOf, SimDriver } from '../src/demo-activity.ts';
import { runDemoDay } from '../src/demo-day.ts';
import { renderDemoReport } from '../src/demo-print.ts';
import { configureProgram, simClient } from '../src/program-setup.ts';
import { type SeedResult, type SeedState, type SeedStore, seedDemoProgram } from '../src/seed.ts';
import { startTestPlatform, type TestPlatform } from './platform-harness.ts';

const grocer = { mid: 'test-grocer', name: 'Test Grocer', mcc: '5411', country_code: 'USA' };
const logger = createLogger({ name: 'dev-test', level: 'error' });
let stack: TestPlatform;

beforeAll(async () => {
  stack = await startTestPlatform();
});
afterAll(async () => stack?.close());

function memoryStore(): SeedStore & { saved: SeedState | undefined } {
  const store = {
    saved: undefined as SeedState | undefined,
    load: () => (store.saved === undefined ? undefined : structuredClone(store.saved)),
    save: (state: SeedState) => {
      store.saved = structuredClone(state);
    },
  };
  return store;
}

const shape = (seed: SeedResult) => ({
  company: seed.company.id,
  cards: seed.cards.map((card) => card.card_token),
  personal: [seed.personal.user_token, seed.personal.card_token],
});

describe('npm start seed and pnpm demo, against the platform wired as start wires it', () => {
  const store = memoryStore();

  it('seeds the demo program through the api, and a second seed changes nothing', async () => {
    const marqeta = simClient(stack.platform, logger);
    try {
      await configureProgram(stack.platform, marqeta);
      // Configuring again (a restart) answers the stored objects.
      await configureProgram(stack.platform, marqeta);
      const first = await seedDemoProgram(stack.platform, marqeta, store, logger);
      expect(first.cards).toHaveLength(3);
      expect(first.personal.available_minor).toBe(250_00);
      const second = await seedDemoProgram(stack.platform, marqeta, store, logger);
      expect(shape(second)).toEqual(shape(first));
      expect(second.company.api_key).toBe(first.company.api_key);
      // The deposit is idempotent by its id: credited once.
      expect(second.personal.available_minor).toBe(250_00);
    } finally {
      await marqeta.close();
    }
  });

  it('after a restart of the simulator (it forgets everything) the seeded cards work again', async () => {
    await stack.restartSim();
    const marqeta = simClient(stack.platform, logger);
    try {
      await configureProgram(stack.platform, marqeta);
      const before = store.saved;
      const again = await seedDemoProgram(stack.platform, marqeta, store, logger);
      expect(store.saved).toEqual(before);
      const sim = new SimDriver(stack.platform);
      for (const card of [...again.cards, again.personal]) {
        const purchase = await sim.authorize(card.card_token, 1_00, grocer);
        expect(outcomeOf(purchase), card.card_token).toBe('approved');
      }
    } finally {
      await marqeta.close();
    }
  });

  it('a seeded card that failed to issue is replaced by the next seed, not waited on for good', async () => {
    const saved = store.saved;
    const failed = saved?.cards[Object.keys(saved.cards)[0] ?? ''];
    expect(failed).toBeDefined();
    const postgres = createPostgres(
      {
        url: stack.platform.database_url,
        application_name: 'dev-test',
        max_connections: 1,
        statement_timeout_ms: 5_000,
      },
      logger,
    );
    try {
      await postgres.sql`update cards set state = 'failed', failure_reason = 'refused by the test'
        where id = ${failed?.id ?? ''}`;
    } finally {
      await postgres.close(5_000);
    }
    const marqeta = simClient(stack.platform, logger);
    try {
      const again = await seedDemoProgram(stack.platform, marqeta, store, logger);
      expect(again.cards).toHaveLength(3);
      expect(again.cards.map((card) => card.card_token)).not.toContain(failed?.card_token);
    } finally {
      await marqeta.close();
    }
  });

  it('the demo day: every step as scripted and the books agree with it', async () => {
    // Its daily, weekly and monthly totals are checked at the end: one UTC day for all of it.
    await clearOfUtcMidnight(30_000);
    const seed = store.saved;
    expect(seed?.company).toBeDefined();
    const report = await runDemoDay({
      platform: stack.platform,
      seed: seed as SeedState,
      logger,
      settle_timeout_ms: 20_000,
    });
    const rendered = renderDemoReport(report);
    expect(
      report.steps.filter((row) => row.verdict === 'MISMATCH'),
      rendered,
    ).toEqual([]);
    expect(report.ledger.differences, rendered).toEqual([]);
    expect(report.ok).toBe(true);
    // Every kind of decline the issue lists, seen from Marqeta's side.
    const actual = report.steps.map((row) => row.actual).join('\n');
    for (const reason of [
      'AMOUNT_LIMIT_EXCEEDED',
      'TRANSACTION_COUNT_LIMIT_EXCEEDED',
      'INVALID_MERCHANT (mcc_blocked)',
      'INVALID_MERCHANT (merchant_blocked)',
      'TRANSACTION_NOT_PERMITTED (country_blocked)',
      'INSUFFICIENT_FUNDS',
      'CARD_NOT_ACTIVE',
    ])
      expect(actual).toContain(`declined ${reason}`);
  });
});
