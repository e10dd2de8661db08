import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPostgres,
  default_migrations_directory,
  type PostgresClient,
  runMigrations,
} from '../src/index.ts';
import { silentLogger } from './support.ts';

let database: TestDatabase;
let client: PostgresClient;
const logger = silentLogger();

interface Fixture {
  readonly company_id: string;
  readonly other_company_id: string;
  readonly user_id: string;
  readonly other_user_id: string;
  readonly card_id: string;
}
let fixture: Fixture;

function single<T>(rows: readonly T[]): T {
  const [row] = rows;
  assert(row !== undefined && rows.length === 1, 'expected exactly one row');
  return row;
}

async function insertId(table: string, row: Record<string, string | number | null>): Promise<string> {
  const sql = client.sql;
  return single(await sql<{ id: string }[]>`insert into ${sql(table)} ${sql(row)} returning id`).id;
}

async function createFixture(): Promise<Fixture> {
  const company_id = await insertId('companies', { name: 'Acme Logistics' });
  const other_company_id = await insertId('companies', { name: 'Globex' });
  const user = (company: string, token: string) =>
    insertId('users', {
      company_id: company,
      user_token: token,
      email: `${token}@example.com`,
      full_name: 'Ada Lovelace',
    });
  const user_id = await user(company_id, 'user-a');
  const other_user_id = await user(other_company_id, 'user-b');
  const card_id = await insertId('cards', {
    card_token: 'card-a',
    company_id,
    user_id,
    card_product_token: 'product-business',
    state: 'active',
    last_four: '4242',
    expiration_month: 12,
    expiration_year: 2029,
    currency_code: 'USD',
  });
  return { company_id, other_company_id, user_id, other_user_id, card_id };
}

// An open authorization hold of 100.00 USD; tests override what they probe.
function transaction(
  overrides: Record<string, string | number | null> = {},
): Record<string, string | number | null> {
  return {
    jit_token: `jit-${randomUUID()}`,
    card_id: fixture.card_id,
    user_id: fixture.user_id,
    company_id: fixture.company_id,
    method: 'pgfs.authorization',
    state: 'pending',
    currency_code: 'USD',
    requested_minor: 10_000,
    authorized_minor: 10_000,
    created_at: '2026-01-05T10:00:00Z',
    expires_at: '2026-01-12T10:00:00Z',
    ...overrides,
  };
}

function rejectedBy(code: string, constraint_name: string) {
  return { code, constraint_name };
}

beforeAll(async () => {
  database = await createTestDatabase();
  client = createPostgres(
    { url: database.url, application_name: 'afc-schema-test', max_connections: 2 },
    logger,
  );
});

afterAll(async () => {
  await client?.close(1);
  await database?.drop();
});

describe('migrations folder', () => {
  it('applies every file to a fresh database, records its sha256, and is a no-op the second time', async () => {
    const files = (await readdir(default_migrations_directory))
      .filter((name) => name.endsWith('.sql'))
      .sort();
    expect(files).toContain('0001_business_schema.sql');
    const first = await runMigrations({ sql: client.sql, logger });
    expect(first.applied).toEqual(files.map((name) => name.replace(/\.sql$/, '')));
    expect(await runMigrations({ sql: client.sql, logger })).toEqual({ applied: [] });
    const recorded = await client.sql<{ version: string; checksum: string }[]>`
      select version, checksum from schema_migrations order by version`;
    const expected = await Promise.all(
      files.map(async (name) => ({
        version: name.slice(0, 4),
        checksum: createHash('sha256')
          .update(await readFile(join(default_migrations_directory, name)))
          .digest('hex'),
      })),
    );
    expect([...recorded]).toEqual(expected);
    fixture = await createFixture();
  });
});

describe('business schema', () => {
  it('records a consistent story: controls, totals, a transaction and its events', async () => {
    const sql = client.sql;
    await sql`
      insert into spending_controls (card_id, currency_code, per_transaction_limit_minor, daily_limit_minor,
        monthly_count_limit, mcc_allow, mcc_block, blocked_merchant_ids, blocked_countries)
      values (${fixture.card_id}, 'USD', 50000, 200000, 100, ${['5411', '5812']}, ${['7995']},
        ${['mid-123']}, ${['PRK']})`;
    await sql`
      insert into spending_totals (card_id, window_kind, window_start, currency_code, amount_minor, count)
      values (${fixture.card_id}, 'week', '2026-01-05', 'USD', 10000, 1)`;
    const row = transaction({
      merchant_mcc: '5411',
      merchant_country: 'USA',
      marqeta_transaction_token: 'txn-1',
    });
    const id = await insertId('transactions', row);
    await sql`
      insert into transaction_events (transaction_id, event_id, kind, amount_minor, currency_code, state_after, occurred_at)
      values (${id}, ${row.jit_token ?? ''}, 'pgfs.authorization', 10000, 'USD', 'pending', ${row.created_at ?? ''})`;
    await sql`update transactions set state = 'cleared', cleared_minor = 10000 where id = ${id}`;
    const stored = single(
      await sql<{ authorized_minor: number; cleared_minor: number; touched: boolean }[]>`
      select authorized_minor, cleared_minor, updated_at > created_at as touched from transactions where id = ${id}`,
    );
    expect(stored).toEqual({ authorized_minor: 10_000, cleared_minor: 10_000, touched: true });
  });

  it('rejects negative amounts and counts wherever money or counters are stored', async () => {
    const sql = client.sql;
    await expect(insertId('transactions', transaction({ authorized_minor: -1 }))).rejects.toMatchObject(
      rejectedBy('23514', 'transactions_amounts_check'),
    );
    await expect(
      sql`update spending_controls set daily_limit_minor = -5 where card_id = ${fixture.card_id}`,
    ).rejects.toMatchObject(rejectedBy('23514', 'spending_controls_limits_check'));
    await expect(
      sql`insert into spending_totals (card_id, window_kind, window_start, currency_code, amount_minor)
          values (${fixture.card_id}, 'day', '2026-01-06', 'USD', -1)`,
    ).rejects.toMatchObject(rejectedBy('23514', 'spending_totals_amount_check'));
    await expect(
      sql`insert into spending_totals (card_id, window_kind, window_start, currency_code, count)
          values (${fixture.card_id}, 'day', '2026-01-06', 'USD', -1)`,
    ).rejects.toMatchObject(rejectedBy('23514', 'spending_totals_count_check'));
  });

  it('rejects unknown states', async () => {
    const sql = client.sql;
    await expect(insertId('transactions', transaction({ state: 'approved' }))).rejects.toMatchObject(
      rejectedBy('23514', 'transactions_state_check'),
    );
    await expect(sql`update cards set state = 'frozen' where id = ${fixture.card_id}`).rejects.toMatchObject(
      rejectedBy('23514', 'cards_state_check'),
    );
    await expect(
      sql`update users set status = 'deleted' where id = ${fixture.user_id}`,
    ).rejects.toMatchObject(rejectedBy('23514', 'users_status_check'));
    await expect(
      sql`update users set marqeta_state = 'active' where id = ${fixture.user_id}`,
    ).rejects.toMatchObject(rejectedBy('23514', 'users_marqeta_state_check'));
    await expect(
      sql`update companies set status = 'gone' where id = ${fixture.company_id}`,
    ).rejects.toMatchObject(rejectedBy('23514', 'companies_status_check'));
  });

  it('rejects a second row for the same JIT token and a replayed event', async () => {
    const row = transaction();
    const id = await insertId('transactions', row);
    await expect(
      insertId('transactions', { ...row, requested_minor: 500, authorized_minor: 500 }),
    ).rejects.toMatchObject(rejectedBy('23505', 'transactions_jit_token_key'));
    const event = { transaction_id: id, event_id: 'evt-1', kind: 'pgfs.authorization', amount_minor: 10_000 };
    const insertEvent = () => client.sql`
      insert into transaction_events (transaction_id, event_id, kind, amount_minor, currency_code, state_after, occurred_at)
      values (${event.transaction_id}, ${event.event_id}, ${event.kind}, ${event.amount_minor}, 'USD', 'pending', now())`;
    await insertEvent();
    await expect(insertEvent()).rejects.toMatchObject(rejectedBy('23505', 'transaction_events_event_id_key'));
    await expect(
      client.sql`update transaction_events set amount_minor = 1 where event_id = 'evt-1'`,
    ).rejects.toMatchObject({ code: '23001' });
  });

  it('keeps clearings and reversals within what the hold allows', async () => {
    const over_released = transaction({ state: 'reversed', reversed_minor: 10_001 });
    await expect(insertId('transactions', over_released)).rejects.toMatchObject(
      rejectedBy('23514', 'transactions_reversed_check'),
    );
    const over_settled = transaction({
      state: 'partially_cleared',
      cleared_minor: 8_000,
      reversed_minor: 3_000,
    });
    await expect(insertId('transactions', over_settled)).rejects.toMatchObject(
      rejectedBy('23514', 'transactions_settled_check'),
    );
    const declined_with_money = transaction({ state: 'declined', decline_reason: 'INSUFFICIENT_FUNDS' });
    await expect(insertId('transactions', declined_with_money)).rejects.toMatchObject(
      rejectedBy('23514', 'transactions_declined_check'),
    );
    await expect(insertId('transactions', transaction({ authorized_minor: 10_001 }))).rejects.toMatchObject(
      rejectedBy('23514', 'transactions_authorized_check'),
    );
    // A tip cleared above the authorization is real money: it closes the hold as 'cleared'.
    await insertId('transactions', transaction({ state: 'cleared', cleared_minor: 12_000 }));
    await insertId(
      'transactions',
      transaction({ state: 'declined', authorized_minor: 0, decline_reason: 'CARD_NOT_ACTIVE' }),
    );
  });

  it('rejects malformed merchant rules and an empty MCC allow-list', async () => {
    const sql = client.sql;
    const controls = (column: string, value: string[]) =>
      sql`update spending_controls set ${sql(column)} = ${value} where card_id = ${fixture.card_id}`;
    await expect(controls('mcc_block', ['54a1'])).rejects.toMatchObject(
      rejectedBy('23514', 'spending_controls_mcc_block_check'),
    );
    await expect(controls('mcc_allow', ['541'])).rejects.toMatchObject(
      rejectedBy('23514', 'spending_controls_mcc_allow_check'),
    );
    await expect(controls('mcc_allow', [])).rejects.toMatchObject(
      rejectedBy('23514', 'spending_controls_mcc_allow_check'),
    );
    await expect(controls('blocked_countries', ['usa'])).rejects.toMatchObject(
      rejectedBy('23514', 'spending_controls_blocked_countries_check'),
    );
  });

  it("keeps a card in its holder's company and a transaction on its card's holder", async () => {
    await expect(
      insertId('cards', {
        card_token: 'card-cross',
        company_id: fixture.company_id,
        user_id: fixture.other_user_id,
        card_product_token: 'product-business',
        currency_code: 'USD',
      }),
    ).rejects.toMatchObject(rejectedBy('23503', 'cards_user_company_fkey'));
    await expect(
      insertId('transactions', transaction({ user_id: fixture.other_user_id })),
    ).rejects.toMatchObject(rejectedBy('23503', 'transactions_card_fkey'));
  });

  it('serves every lookup of the flows from an index', async () => {
    const card = fixture.card_id;
    const lookups: [string, string][] = [
      [`select * from cards where card_token = 'card-a'`, 'cards_card_token_key'],
      [
        `select * from cards where user_id = '${card}' order by created_at desc, id desc limit 20`,
        'cards_user_created_idx',
      ],
      [
        `select * from cards where company_id = '${card}' order by created_at desc, id desc limit 20`,
        'cards_company_created_idx',
      ],
      [
        `select * from users where company_id = '${card}' order by created_at desc, id desc limit 20`,
        'users_company_created_idx',
      ],
      [`select * from users where user_token = 'user-a'`, 'users_user_token_key'],
      [`select * from api_keys where key_hash = '${'0'.repeat(64)}'`, 'api_keys_key_hash_key'],
      [`select * from transactions where jit_token = 'jit-1'`, 'transactions_jit_token_key'],
      [
        `select * from transactions where card_id = '${card}' and (created_at, id) < (now(), '${card}')
         order by created_at desc, id desc limit 50`,
        'transactions_card_created_idx',
      ],
      [
        `select * from transactions where user_id = '${card}' order by created_at desc, id desc limit 50`,
        'transactions_user_created_idx',
      ],
      [
        `select * from transactions where state in ('pending', 'partially_cleared') and expires_at < now()
         order by expires_at limit 100`,
        'transactions_open_expiry_idx',
      ],
      [
        `select * from transactions where original_jit_token = 'jit-1'`,
        'transactions_original_jit_token_idx',
      ],
      [
        `select * from transactions where marqeta_transaction_token = 'txn-1'`,
        'transactions_marqeta_transaction_token_idx',
      ],
      [
        `select * from transaction_events where transaction_id = '${card}' order by id`,
        'transaction_events_transaction_idx',
      ],
      [
        `select * from outbox_messages where published_at is null and parked_at is null
           and next_attempt_at <= now() order by id limit 100`,
        'outbox_messages_unpublished_idx',
      ],
      [
        `select 1 from outbox_messages where published_at is null
           and routing_key = 'card.issue.requested' and payload->>'card_token' = 'card-1'`,
        'outbox_messages_unpublished_card_idx',
      ],
    ];
    const plans = await client.transaction(async (tx) => {
      // The tables are tiny, so a sequential scan would win; forbidding it shows which index
      // the planner can use, which is what is asserted.
      await tx`set local enable_seqscan = off`;
      const found: string[] = [];
      for (const [query] of lookups) {
        const rows = await tx.unsafe<{ 'QUERY PLAN': string }[]>(`explain ${query}`);
        found.push(rows.map((row) => row['QUERY PLAN']).join('\n'));
      }
      return found;
    });
    lookups.forEach(([, index], position) => {
      expect(plans[position], index).toContain(index);
    });
  });
});
