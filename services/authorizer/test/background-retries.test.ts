import { createLogger } from '@afc/log';
import { captureLogs } from '@afc/testkit';
import { describe, expect, it } from 'vitest';
import { BackgroundRetries } from '../src/jit/background-retries.ts';

class Refused extends Error {}

// Work driven by the test: each call takes the next planned outcome ('ok', 'fail', 'refuse').
function retries(plan: string[], options: { max_pending?: number; max_attempts?: number } = {}) {
  const logs = captureLogs();
  const results: string[] = [];
  const calls: string[] = [];
  const background = new BackgroundRetries<string>({
    name: 'test_work',
    work: async (request) => {
      calls.push(request);
      const next = plan.shift() ?? 'ok';
      if (next === 'fail') throw new Error('not now');
      if (next === 'refuse') throw new Refused('never');
      return 'done';
    },
    retryable: (error) => !(error instanceof Refused),
    logger: createLogger({ name: 'retries-test', level: 'info', destination: logs.destination }),
    on_result: (result) => results.push(result),
    max_pending: options.max_pending ?? 10,
    max_attempts: options.max_attempts ?? 3,
    base_delay_ms: 1,
    max_delay_ms: 2,
  });
  const logged = () => logs.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { background, results, calls, logged };
}

describe('BackgroundRetries', () => {
  it('tries again after a failure until the work is done', async () => {
    const r = retries(['fail', 'fail', 'ok']);
    r.background.schedule('a', 'request-a');
    await r.background.drain(5_000);
    expect(r.results).toEqual(['retried', 'retried', 'done']);
    expect(r.calls).toEqual(['request-a', 'request-a', 'request-a']);
  });

  it('gives up after its attempts without a last wait or a last "retried", and logs the error', async () => {
    const r = retries(['fail', 'fail', 'fail', 'ok'], { max_attempts: 3 });
    r.background.schedule('a', 'request-a');
    await r.background.drain(5_000);
    expect(r.results).toEqual(['retried', 'retried', 'abandoned']);
    expect(r.calls).toHaveLength(3);
    expect(r.logged().at(-1)).toMatchObject({ level: 'error', key: 'a', work: 'test_work' });
  });

  it('never retries a refusal', async () => {
    const r = retries(['refuse', 'ok']);
    r.background.schedule('a', 'request-a');
    await r.background.drain(5_000);
    expect(r.results).toEqual(['rejected']);
    expect(r.calls).toHaveLength(1);
  });

  it('runs one work per key while it is pending, and drops work past max_pending', async () => {
    const r = retries([], { max_pending: 2 });
    r.background.schedule('a', 'first a');
    r.background.schedule('a', 'second a');
    r.background.schedule('b', 'b');
    r.background.schedule('c', 'c');
    expect(r.background.pending_count).toBe(2);
    await r.background.drain(5_000);
    expect(r.calls.sort()).toEqual(['b', 'first a']);
    expect(r.results.sort()).toEqual(['done', 'done', 'dropped']);
    expect(r.logged().find((line) => line.key === 'c')).toMatchObject({ level: 'error' });
  });

  it('names the work still pending when shutdown stops waiting', async () => {
    const logs = captureLogs();
    let finish: () => void = () => undefined;
    const stuck = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const background = new BackgroundRetries<string>({
      name: 'stuck_work',
      work: async () => {
        await stuck;
        return 'done';
      },
      retryable: () => true,
      logger: createLogger({ name: 'retries-test', level: 'info', destination: logs.destination }),
      on_result: () => undefined,
      max_pending: 10,
      max_attempts: 3,
      base_delay_ms: 1,
      max_delay_ms: 2,
    });
    background.schedule('jit-1:request-1', 'x');
    background.schedule('jit-2:request-2', 'y');
    await background.drain(10);
    const line = JSON.parse(logs.lines.at(-1) ?? '{}') as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'error', pending: 2, keys: ['jit-1:request-1', 'jit-2:request-2'] });
    finish();
    await background.drain(5_000);
    expect(background.pending_count).toBe(0);
  });
});
