import { randomUUID } from 'node:crypto';
import { buildJitRequest } from '@afc/marqeta';
import { waitUntil } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessPlatform, jit_authorization } from './platform.ts';
import { report } from './traffic.ts';

const p = new InProcessPlatform();
let jit_url = '';

beforeAll(async () => {
  await p.boot({
    with_settlement: false,
    authorizer_env: { DECISION_DEADLINE_MS: '1000' },
    // Tight limits for this instance only, so that a small bounded flood is past its capacity:
    // the event loop may lag 25 ms on average over a 25 ms sample before it sheds.
    under_pressure: { max_event_loop_delay_ms: 25, sample_interval_ms: 25, retry_after_s: 1 },
  });
  const address = p.authorizer.server.address();
  if (address === null || typeof address === 'string') throw new Error('authorizer not listening');
  jit_url = `http://127.0.0.1:${address.port}/v1/jit`;
});
afterAll(async () => p.close());

interface Answer {
  readonly status: number;
  readonly memo: string | undefined;
  readonly retry_after: string | null;
}

// Straight at the gateway over HTTP (Marqeta's simulator holds only 32 connections of its own).
async function authorize(card_token: string, user_token: string): Promise<Answer> {
  const body = buildJitRequest({
    transaction_token: randomUUID(),
    jit_token: randomUUID(),
    method: 'pgfs.authorization',
    card_token,
    user_token,
    amount: '1.00',
    currency_code: 'USD',
    mcc: '5411',
    country_code: 'USA',
  });
  const response = await fetch(jit_url, {
    method: 'POST',
    headers: { authorization: jit_authorization, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const answer = (await response.json()) as { jit_funding?: { memo?: string } };
  return {
    status: response.status,
    memo: answer.jit_funding?.memo,
    retry_after: response.headers.get('retry-after'),
  };
}

const wave_size = 200;
const max_waves = 10;

describe('drill: a flood past capacity', () => {
  it('sheds with 503 + Retry-After instead of answering decisions past the deadline', async () => {
    const cards = p.cards.map((card_token, index) => ({
      card_token,
      user_token: `${p.namespace}-user-${index}`,
    }));
    // Card states loaded into Redis first: the flood measures deciding, not first loads. (A 503
    // here is the start-up's own lag, shed like any other.)
    for (const card of cards) {
      await waitUntil(async () => (await authorize(card.card_token, card.user_token)).status === 200, {
        message: 'a first approval per card',
      });
    }
    const answers: Answer[] = [];
    let waves = 0;
    // Bounded: at most max_waves waves of wave_size concurrent requests, until one is shed.
    while (waves < max_waves && !answers.some((a) => a.status === 503)) {
      waves += 1;
      const wave = Array.from({ length: wave_size }, (_unused, index) => {
        const card = cards[index % cards.length] ?? cards[0];
        return authorize(card?.card_token ?? '', card?.user_token ?? '');
      });
      answers.push(...(await Promise.all(wave)));
    }
    const by_status: Record<string, number> = {};
    for (const answer of answers) by_status[answer.status] = (by_status[answer.status] ?? 0) + 1;
    const late = answers.filter((a) => a.memo === 'timeout').length;
    const declines: Record<string, number> = {};
    for (const answer of answers.filter((a) => a.status === 402))
      declines[answer.memo ?? '?'] = (declines[answer.memo ?? '?'] ?? 0) + 1;
    // Once the flood is over the instance serves again by itself.
    await waitUntil(
      async () => (await authorize(cards[0]?.card_token ?? '', cards[0]?.user_token ?? '')).status === 200,
      {
        message: 'approvals again after the flood',
      },
    );
    report('flood', {
      did: `${waves} waves of ${wave_size} concurrent JIT requests against an instance with tight pressure limits`,
      by_status,
      declines_by_memo: declines,
      answered_after_deadline: late,
    });
    expect(Object.keys(by_status).every((status) => ['200', '402', '503'].includes(status))).toBe(true);
    expect(by_status['503'] ?? 0).toBeGreaterThan(0);
    expect(answers.filter((a) => a.status === 503).every((a) => a.retry_after === '1')).toBe(true);
    // The point of shedding: every decision that was answered was answered within its deadline.
    expect(late).toBe(0);
  });
});
