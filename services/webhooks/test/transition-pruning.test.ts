import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TransitionEvent } from '../src/consumer/transition-event.ts';
import { type RecordedOutcome, recordNewest } from '../src/consumer/transition-log.ts';
import { pruneTransitionLog } from '../src/consumer/transition-log-pruning.ts';
import { type Harness, startWebhooks } from './harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startWebhooks({ consumer: true });
});
afterAll(async () => {
  await h?.close();
});

const rank: Record<string, number> = { ACTIVE: 1, SUSPENDED: 2, TERMINATED: 3 };

// One transition through the consumer's own protocol (a business card that always exists).
async function record(event_token: string, subject_token: string, state: string, created_time: string) {
  const event: TransitionEvent = {
    event_token,
    subject: 'card',
    subject_token,
    state,
    created_time: new Date(created_time),
    state_rank: rank[state] ?? 0,
  };
  return h.app.postgres.sql.begin((tx) =>
    recordNewest(tx, event, {
      lock: async () => ({ program: 'business' as const }),
      decide: (): RecordedOutcome => 'applied',
      apply: async () => undefined,
    }),
  );
}

async function rows(subject_token: string) {
  return h.app.postgres.sql<{ event_token: string; superseded: boolean }[]>`
    select event_token, superseded_at is not null as superseded from marqeta_transitions
    where subject_token = ${subject_token} order by event_token collate "C"`;
}

async function age(days: number): Promise<void> {
  await h.app.postgres.sql`update marqeta_transitions
    set superseded_at = superseded_at - make_interval(days => ${days}::int) where superseded_at is not null`;
}

describe('pruning marqeta_transitions', () => {
  it('marks every row but the newest superseded, in any arrival order and on created_time ties', async () => {
    expect(await record('a2', 'card-a', 'SUSPENDED', '2026-01-02T00:00:00Z')).toBe('applied');
    expect(await record('a1', 'card-a', 'ACTIVE', '2026-01-01T00:00:00Z')).toBe('superseded');
    expect(await record('a3', 'card-a', 'ACTIVE', '2026-01-03T00:00:00Z')).toBe('applied');
    // Same created_time: the more restrictive state is the newer; then the token, byte order
    // ('B' before 'a' in "C" collation, after it in most locales).
    expect(await record('b-a', 'card-b', 'SUSPENDED', '2026-01-05T00:00:00Z')).toBe('applied');
    expect(await record('b-B', 'card-b', 'SUSPENDED', '2026-01-05T00:00:00Z')).toBe('superseded');
    expect(await record('b-t', 'card-b', 'ACTIVE', '2026-01-05T00:00:00Z')).toBe('superseded');
    expect(await rows('card-a')).toEqual([
      { event_token: 'a1', superseded: true },
      { event_token: 'a2', superseded: true },
      { event_token: 'a3', superseded: false },
    ]);
    expect(await rows('card-b')).toEqual([
      { event_token: 'b-B', superseded: true },
      { event_token: 'b-a', superseded: false },
      { event_token: 'b-t', superseded: true },
    ]);
  });

  it('deletes rows superseded over keep_days ago, a batch at a time, never the newest', async () => {
    await record('c1', 'card-c', 'ACTIVE', '2026-02-01T00:00:00Z');
    await record('c2', 'card-c', 'SUSPENDED', '2026-02-02T00:00:00Z');
    // Nothing superseded long enough yet.
    expect(await pruneTransitionLog(h.app.postgres.sql, { keep_days: 30, batch: 10 })).toBe(0);
    await age(31);
    // card-a: a1, a2; card-b: b-B, b-t; card-c: c1.
    expect(await pruneTransitionLog(h.app.postgres.sql, { keep_days: 30, batch: 2 })).toBe(2);
    expect(await pruneTransitionLog(h.app.postgres.sql, { keep_days: 30, batch: 10 })).toBe(3);
    expect(await pruneTransitionLog(h.app.postgres.sql, { keep_days: 30, batch: 10 })).toBe(0);
    expect(await rows('card-a')).toEqual([{ event_token: 'a3', superseded: false }]);
    expect(await rows('card-b')).toEqual([{ event_token: 'b-a', superseded: false }]);
    expect(await rows('card-c')).toEqual([{ event_token: 'c2', superseded: false }]);
    // A repeat of a pruned event changes nothing: it is older than the newest kept.
    expect(await record('a1', 'card-a', 'ACTIVE', '2026-01-01T00:00:00Z')).toBe('superseded');
    expect(await rows('card-a')).toEqual([
      { event_token: 'a1', superseded: true },
      { event_token: 'a3', superseded: false },
    ]);
  });

  it('refuses a keep or batch below one', async () => {
    await expect(pruneTransitionLog(h.app.postgres.sql, { keep_days: 0, batch: 1 })).rejects.toThrow(
      /keep_days/,
    );
    await expect(pruneTransitionLog(h.app.postgres.sql, { keep_days: 1, batch: 0 })).rejects.toThrow(/batch/);
  });
});
