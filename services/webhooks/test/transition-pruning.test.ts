import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneTransitionLog } from '../src/consumer/transition-log-pruning.ts';
import { type Harness, startWebhooks } from './harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startWebhooks({ consumer: true });
});
afterAll(async () => {
  await h?.close();
});

interface Row {
  event_token: string;
  subject_token: string;
  state: string;
  state_rank: number;
  created_time: string;
  recorded_days_ago: number;
}

async function insert(rows: readonly Row[]): Promise<void> {
  const sql = h.app.postgres.sql;
  for (const row of rows) {
    await sql`
      insert into marqeta_transitions
        (event_token, subject, subject_token, program, state, state_rank, created_time, outcome, recorded_at)
      values (${row.event_token}, 'card', ${row.subject_token}, 'business', ${row.state}, ${row.state_rank},
              ${row.created_time}, 'applied', now() - make_interval(days => ${row.recorded_days_ago}::int))`;
  }
}

async function remaining(subject_token: string): Promise<string[]> {
  const rows = await h.app.postgres.sql<{ event_token: string }[]>`
    select event_token from marqeta_transitions where subject_token = ${subject_token} order by event_token`;
  return rows.map((row) => row.event_token);
}

describe('pruning marqeta_transitions', () => {
  it('deletes old rows that are not the newest of their subject, a batch at a time, and never the newest', async () => {
    await insert([
      // Card a: three old transitions; the newest (a3) stays however old it is.
      {
        event_token: 'a1',
        subject_token: 'card-a',
        state: 'ACTIVE',
        state_rank: 1,
        created_time: '2026-01-01T00:00:00Z',
        recorded_days_ago: 90,
      },
      {
        event_token: 'a2',
        subject_token: 'card-a',
        state: 'SUSPENDED',
        state_rank: 2,
        created_time: '2026-01-02T00:00:00Z',
        recorded_days_ago: 89,
      },
      {
        event_token: 'a3',
        subject_token: 'card-a',
        state: 'ACTIVE',
        state_rank: 1,
        created_time: '2026-01-03T00:00:00Z',
        recorded_days_ago: 88,
      },
      // Card b: same created_time, the more restrictive state is the newer (b2 stays).
      {
        event_token: 'b1',
        subject_token: 'card-b',
        state: 'ACTIVE',
        state_rank: 1,
        created_time: '2026-01-01T00:00:00Z',
        recorded_days_ago: 60,
      },
      {
        event_token: 'b2',
        subject_token: 'card-b',
        state: 'TERMINATED',
        state_rank: 3,
        created_time: '2026-01-01T00:00:00Z',
        recorded_days_ago: 60,
      },
      // Card c: an older transition recorded recently (a late arrival) is within keep_days.
      {
        event_token: 'c1',
        subject_token: 'card-c',
        state: 'ACTIVE',
        state_rank: 1,
        created_time: '2026-01-01T00:00:00Z',
        recorded_days_ago: 0,
      },
      {
        event_token: 'c2',
        subject_token: 'card-c',
        state: 'SUSPENDED',
        state_rank: 2,
        created_time: '2026-02-01T00:00:00Z',
        recorded_days_ago: 40,
      },
    ]);
    // Oldest recorded first, one per call.
    expect(await pruneTransitionLog(h.app.postgres.sql, { keep_days: 30, batch: 1 })).toBe(1);
    expect(await remaining('card-a')).toEqual(['a2', 'a3']);
    expect(await pruneTransitionLog(h.app.postgres.sql, { keep_days: 30, batch: 10 })).toBe(2);
    expect(await pruneTransitionLog(h.app.postgres.sql, { keep_days: 30, batch: 10 })).toBe(0);
    expect(await remaining('card-a')).toEqual(['a3']);
    expect(await remaining('card-b')).toEqual(['b2']);
    expect(await remaining('card-c')).toEqual(['c1', 'c2']);
    // A shorter keep reaches c1 too; the newest of every subject still stays.
    expect(await pruneTransitionLog(h.app.postgres.sql, { keep_days: 1, batch: 10 })).toBe(0);
    await h.app.postgres
      .sql`update marqeta_transitions set recorded_at = now() - interval '2 days' where event_token = 'c1'`;
    expect(await pruneTransitionLog(h.app.postgres.sql, { keep_days: 1, batch: 10 })).toBe(1);
    expect(await remaining('card-c')).toEqual(['c2']);
  });

  it('refuses a keep or batch below one', async () => {
    await expect(pruneTransitionLog(h.app.postgres.sql, { keep_days: 0, batch: 1 })).rejects.toThrow(
      /keep_days/,
    );
    await expect(pruneTransitionLog(h.app.postgres.sql, { keep_days: 1, batch: 0 })).rejects.toThrow(/batch/);
  });
});
