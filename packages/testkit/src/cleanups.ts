import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { createTestRedisPrefix, type TestRedisPrefix } from './test-redis-prefix.ts';
import { uniqueTestId } from './unique-test-id.ts';

// What a test harness made, undone in reverse order when it closes. A step that fails is
// ignored (the rest still runs): a close must leave as little behind as it can.
export class Cleanups {
  readonly #steps: (() => Promise<unknown>)[] = [];

  add(step: () => Promise<unknown>): void {
    this.#steps.push(step);
  }

  async run(): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) await step().catch(() => undefined);
  }
}

// Runs a harness's start with a fresh Cleanups. When the start throws, what it had made is
// undone before the error goes on; otherwise the caller closes with `cleanups.run`.
export async function startWithCleanups<T>(start: (cleanups: Cleanups) => Promise<T>): Promise<T> {
  const cleanups = new Cleanups();
  try {
    return await start(cleanups);
  } catch (error) {
    await cleanups.run();
    throw error;
  }
}

export interface IsolatedInfrastructure {
  readonly database: TestDatabase;
  readonly redis_prefix: TestRedisPrefix;
  // For the AMQP topology (the caller declares it and adds its deletion: testkit knows no
  // topology).
  readonly namespace: string;
}

// One test file's own database, Redis key prefix and broker namespace; the first two are
// removed by `cleanups`.
export async function isolatedInfrastructure(
  cleanups: Cleanups,
  namespace_prefix: string,
): Promise<IsolatedInfrastructure> {
  const database = await createTestDatabase();
  cleanups.add(() => database.drop());
  const redis_prefix = createTestRedisPrefix();
  cleanups.add(() => redis_prefix.cleanup());
  return { database, redis_prefix, namespace: uniqueTestId(namespace_prefix) };
}
