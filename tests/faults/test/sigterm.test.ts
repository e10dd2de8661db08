import { product_topology } from '@afc/amqp';
import { freePort, localServiceUrls } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ground, jit_password, jit_username } from './platform.ts';
import { ServiceProcess } from './processes.ts';
import { type Outcome, report, tally, waitForBooks } from './traffic.ts';

const ground = new Ground();
const processes: ServiceProcess[] = [];
let authorizer_env: Record<string, string> = {};
let settlement_env: Record<string, string> = {};
let cards: string[] = [];

function spawnService(name: 'authorizer' | 'settlement', env: Record<string, string>): ServiceProcess {
  const service = new ServiceProcess(name, env);
  processes.push(service);
  return service;
}

beforeAll(async () => {
  await ground.start((namespace) => ({ ...product_topology, namespace }));
  const common = {
    DATABASE_URL: ground.database_url,
    REDIS_URL: localServiceUrls.redis,
    REDIS_KEY_PREFIX: ground.redis_prefix,
    AMQP_URL: localServiceUrls.amqp,
    AMQP_NAMESPACE: ground.namespace,
    PG_POOL_MAX: '4',
    LOG_LEVEL: 'info',
    SHUTDOWN_TIMEOUT_MS: '10000',
  };
  // A fixed port: the restarted authorizer takes over where Marqeta calls.
  const jit_port = await freePort();
  authorizer_env = {
    ...common,
    PORT: String(jit_port),
    JIT_BASIC_USERNAME: jit_username,
    JIT_BASIC_PASSWORD: jit_password,
    DECISION_DEADLINE_MS: '1000',
    // A process just started on a busy machine: its first commands may be slow (the default
    // 100 ms would decline them as system_error, which is not what this drill is about).
    REDIS_COMMAND_TIMEOUT_MS: '500',
  };
  settlement_env = { ...common, PORT: '0', AMQP_PREFETCH: '16' };
  // The first authorizer migrates the database; the cards are seeded after it.
  await spawnService('authorizer', authorizer_env).start();
  await spawnService('settlement', settlement_env).start();
  cards = await ground.seedProgram(`http://127.0.0.1:${jit_port}/v1/jit`, 8);
});
afterAll(async () => {
  for (const service of processes) await service.kill();
  await ground.close();
});

// Marqeta's view of an attempt while no authorizer listened, or one was closing: declined by
// Marqeta itself, nothing held, nothing to settle.
const refused = (o: Outcome) =>
  !o.approved &&
  (o.sim_memo.startsWith('JIT gateway unreachable') || o.sim_memo === 'JIT gateway answered HTTP 503');

describe('drill: SIGTERM under load', () => {
  it('the authorizer and a settlement worker stop gracefully: nothing lost, nothing doubled', async () => {
    const traffic = ground.traffic(cards, { concurrency: 4, pause_ms: 5, max_requests: 4_000 });
    traffic.start();
    try {
      const [authorizer, settlement] = processes as [ServiceProcess, ServiceProcess];
      await traffic.waitForMore(40, (o) => o.approved, '40 approvals before the first SIGTERM');
      const authorizer_exit = await authorizer.terminate();
      const restarted = spawnService('authorizer', authorizer_env);
      await restarted.start();
      await traffic.waitForMore(40, (o) => o.approved, '40 approvals from the restarted authorizer');
      const settlement_exit = await settlement.terminate();
      await spawnService('settlement', settlement_env).start();
      await traffic.waitForMore(40, (o) => o.approved, '40 approvals after the worker restart');
      await traffic.stop();
      const books = await waitForBooks(ground.sql, traffic);
      // Approved, declined by an authorizer (a 402 with its reason), or refused before any
      // decision: nothing else (a timeout at Marqeta, a broken or missing answer).
      const unexpected = traffic.outcomes.filter(
        (o) => !o.approved && o.decline_reason === undefined && !refused(o),
      );
      report('sigterm', {
        did: 'SIGTERM to the authorizer under load, restarted it; SIGTERM to the settlement worker, restarted it',
        authorizer_exit,
        settlement_exit,
        outcomes: tally(traffic.outcomes),
        requests_finished_after_sigterm: authorizer.loggedAfter(
          '"msg":"shutting down"',
          '"msg":"request completed"',
        ),
        events_settled_after_sigterm: settlement.loggedAfter('"msg":"shutting down"', '"settlement.event"'),
        settlement_drained: settlement.lines
          .filter((l) => l.includes('settlement.drained'))
          .map((l) => JSON.parse(l)),
        approvals_answered: books.approved_answered,
        ledger_rows: books.ledger_rows,
        missing: books.missing.length,
        extra: books.extra.length,
        not_exactly_once: books.doubled.length,
      });
      expect(traffic.errors).toEqual([]);
      // Both finished their in-flight work within the shutdown deadline (exit 1 past it).
      expect([authorizer_exit, settlement_exit]).toEqual([0, 0]);
      expect(authorizer.logged('shutdown complete')).toBe(1);
      expect(settlement.logged('shutdown complete')).toBe(1);
      // Every attempt was decided by an authorizer, or refused before any decision: no request
      // cut in the middle (Marqeta would time out or see a broken answer).
      expect(unexpected).toEqual([]);
      // An approval whose answer was lost in the shutdown would be an extra ledger row; one
      // whose event was lost, a missing one; one settled twice, a doubled one.
      expect(books).toMatchObject({ missing: [], extra: [], doubled: [] });
    } finally {
      await traffic.stop();
    }
  });
});
