import { waitUntil } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, jitBody, postJit, startAuthorizer } from './harness.ts';
import { type SeededCard, seedBusinessCard } from './seed.ts';

// Blocks this thread (and so the app's event loop) for a while, as a long GC pause or a
// starved CPU would.
function blockEventLoop(duration_ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, duration_ms);
}

describe('load shedding from SHED_EVENT_LOOP_DELAY_MS', () => {
  let h: Harness;
  let card: SeededCard;

  beforeAll(async () => {
    // The lowest setting: one blocked sample is far past it.
    h = await startAuthorizer({ env: { SHED_EVENT_LOOP_DELAY_MS: '10' } });
    card = await seedBusinessCard(h.app.postgres.sql);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers JIT requests 503 with Retry-After while the event loop lags, and serves again after', async () => {
    // The plugin compares the mean delay of a 500 ms sample (about 50 timer ticks): one tick
    // 2.5 s late puts that mean near 40 ms, past the setting, where the default (100) is not.
    blockEventLoop(2_500);
    let shed: Awaited<ReturnType<typeof postJit>> | undefined;
    await waitUntil(
      async () => {
        const answer = await postJit(h.app, jitBody(card));
        if (answer.statusCode === 503) shed = answer;
        return shed !== undefined;
      },
      { message: 'a JIT request shed' },
    );
    expect(shed?.json()).toEqual({ error: 'overloaded' });
    expect(shed?.headers['retry-after']).toBe('5');
    expect(h.app.isUnderPressure()).toBe(true);
    // Liveness still answers, so a busy process is not restarted for it.
    expect((await h.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    // Shedding is cheap: once a sample sees the loop on time again, requests are decided.
    await waitUntil(async () => (await postJit(h.app, jitBody(card))).statusCode === 200, {
      message: 'JIT requests decided again',
    });
  });
});
