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
    // The loop lags 50 ms at every turn until a request is shed: every sample of the plugin
    // (the mean delay over 500 ms) then sees ~40 ms or more, past the setting, where the
    // default (100) is not. A lag that lasts, not one long pause: whichever timer fires first
    // after a pause, a lasting lag is in every sample.
    const lag = setInterval(() => blockEventLoop(50), 1);
    let shed: Awaited<ReturnType<typeof postJit>> | undefined;
    try {
      await waitUntil(
        async () => {
          const answer = await postJit(h.app, jitBody(card));
          if (answer.statusCode === 503) shed = answer;
          return shed !== undefined;
        },
        { message: 'a JIT request shed' },
      );
    } finally {
      clearInterval(lag);
    }
    expect(shed?.json()).toEqual({ error: 'overloaded' });
    expect(shed?.headers['retry-after']).toBe('5');
    // Liveness still answers, so a busy process is not restarted for it.
    expect((await h.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    // Shedding is cheap: once a sample sees the loop on time again, requests are decided.
    await waitUntil(async () => (await postJit(h.app, jitBody(card))).statusCode === 200, {
      message: 'JIT requests decided again',
    });
  });
});
