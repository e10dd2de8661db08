import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  bearer,
  createCard,
  createCompany,
  createUser,
  type Harness,
  startApi,
  type Tenant,
} from './harness.ts';

let h: Harness;
let a: Tenant;

beforeAll(async () => {
  h = await startApi();
  a = await createCompany(h.app, 'A');
});
afterAll(async () => h.close());

// Settlement writes the ledger; here rows go in directly, with created_at ties to prove the id
// tie-break and microseconds to prove the cursor keeps them.
async function seedTransactions(card_id: string, user_id: string, company_id: string, times: string[]) {
  let n = 0;
  for (const created_at of times) {
    n += 1;
    await h.app.postgres.sql`
      insert into transactions (jit_token, card_id, user_id, company_id, method, state, currency_code,
        requested_minor, authorized_minor, created_at, expires_at)
      values (${`jit-${card_id}-${n}`}, ${card_id}, ${user_id}, ${company_id}, 'pgfs.authorization', 'pending', 'USD',
        ${n * 100}, ${n * 100}, ${created_at}::text::timestamptz, ${created_at}::text::timestamptz + interval '7 days')`;
  }
}

it('pages a card and a user newest first, every row once, with an opaque cursor', async () => {
  const user = await createUser(h.app, a);
  const card = await createCard(h.app, a, user.id);
  const other_card = await createCard(h.app, a, user.id);
  const times = [
    '2030-01-01T00:00:00.000001Z',
    '2030-01-01T00:00:00.000002Z',
    '2030-01-01T00:00:00.000002Z',
    '2030-01-01T00:00:00.000002Z',
    '2030-01-02T10:00:00Z',
  ];
  await seedTransactions(card.id, user.id, a.company_id, times);
  await seedTransactions(other_card.id, user.id, a.company_id, ['2030-01-01T12:00:00Z']);

  const seen: { id: string; created_at: string }[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query: string = cursor === null ? '' : `&cursor=${cursor}`;
    const response = await h.app.inject({
      url: `/v1/cards/${card.id}/transactions?limit=2${query}`,
      headers: bearer(a.key),
    });
    expect(response.statusCode).toBe(200);
    const body = response.json<{ data: { id: string; created_at: string }[]; next_cursor: string | null }>();
    seen.push(...body.data);
    cursor = body.next_cursor;
    pages += 1;
  } while (cursor !== null && pages < 10);
  expect(pages).toBe(3);
  expect(seen).toHaveLength(5);
  expect(new Set(seen.map((t) => t.id)).size).toBe(5);
  const expected = [...seen].sort((x, y) =>
    x.created_at === y.created_at ? (x.id < y.id ? 1 : -1) : x.created_at < y.created_at ? 1 : -1,
  );
  expect(seen).toEqual(expected);
  expect(seen[0]?.created_at).toBe('2030-01-02T10:00:00.000000Z');
  expect(seen[4]?.created_at).toBe('2030-01-01T00:00:00.000001Z');

  const by_user = await h.app.inject({ url: `/v1/users/${user.id}/transactions`, headers: bearer(a.key) });
  const user_rows = by_user.json<{
    data: { card_id: string; requested_minor: number }[];
    next_cursor: null;
  }>();
  expect(user_rows.data).toHaveLength(6);
  expect(user_rows.next_cursor).toBeNull();
  expect(user_rows.data[1]).toMatchObject({ card_id: other_card.id, requested_minor: 100 });
});

it('400 naming the field for a forged or malformed cursor and a bad limit', async () => {
  const user = await createUser(h.app, a);
  const forged = Buffer.from(JSON.stringify(['yesterday', 'x'])).toString('base64url');
  for (const query of [`cursor=${forged}`, 'cursor=%25%25', 'limit=0', 'limit=1000', 'limit=two', 'page=2']) {
    const response = await h.app.inject({
      url: `/v1/users/${user.id}/transactions?${query}`,
      headers: bearer(a.key),
    });
    expect(response.statusCode, query).toBe(400);
    expect(response.json().message, query).toMatch(/querystring/);
  }
});
