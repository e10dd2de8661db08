import { randomUUID } from 'node:crypto';
import type { Logger } from '@afc/log';
import { createPostgres, runMigrations, type Sql } from '@afc/postgres';
import type { CardPlan } from './card-plan.ts';
import { velocity_limits } from './card-plan.ts';

// Rows per INSERT: the widest table has 13 columns, and PostgreSQL takes at most 65,535
// parameters per statement.
const batch_rows = 2_000;

type Row = Record<string, string | number | string[]>;

async function insertBatched(sql: Sql, table: string, rows: readonly Row[]): Promise<void> {
  for (let start = 0; start < rows.length; start += batch_rows) {
    const batch: Row[] = rows.slice(start, start + batch_rows);
    await sql`insert into ${sql(table)} ${sql(batch)}`;
  }
}

// The business program's data of record, as the control plane would have written it: the
// schema by the project's own migrations, then companies, employees, cards and their controls
// in batched multi-row INSERTs (a few seconds for 10,000 cards).
export async function seedPostgres(database_url: string, plan: CardPlan, logger: Logger): Promise<void> {
  const client = createPostgres(
    {
      url: database_url,
      application_name: 'bench-seed',
      max_connections: 2,
      statement_timeout_ms: 60_000,
      // A 2,000-row INSERT is slow by the services' standard and expected here.
      slow_query_ms: 10_000,
    },
    logger,
  );
  try {
    await client.connectWithRetry({ attempts: 3 });
    await runMigrations({ sql: client.sql, logger });
    await client.transaction(async (tx) => writeRows(tx as unknown as Sql, plan));
  } finally {
    await client.close(5_000);
  }
}

async function writeRows(sql: Sql, plan: CardPlan): Promise<void> {
  const company_ids = Array.from({ length: plan.companies }, () => randomUUID());
  const companies = company_ids.map((id, index) => ({ id, name: `Bench Company ${index}` }));
  const user_ids = new Map<string, string>();
  const users = plan.users.map((user) => {
    const id = randomUUID();
    user_ids.set(user.user_token, id);
    return {
      id,
      company_id: company_ids[user.company_index] ?? '',
      user_token: user.user_token,
      email: `${user.user_token}@bench.example.com`,
      full_name: 'Bench Employee',
      status: 'active',
    };
  });
  const card_ids = plan.cards.map(() => randomUUID());
  const cards = plan.cards.map((card, index) => ({
    id: card_ids[index] ?? '',
    card_token: card.card_token,
    company_id: company_ids[card.company_index] ?? '',
    user_id: user_ids.get(card.user_token) ?? '',
    card_product_token: 'bench-product',
    state: 'active',
    last_four: String(index % 10_000).padStart(4, '0'),
    expiration_month: 12,
    expiration_year: 2099,
    currency_code: 'USD',
  }));
  const controls = plan.cards.map((card, index) => ({
    card_id: card_ids[index] ?? '',
    currency_code: 'USD',
    per_transaction_limit_minor: card.per_transaction_limit_minor,
    ...velocity_limits,
    mcc_block: [...card.mcc_block],
    blocked_merchant_ids: [],
    blocked_countries: [...card.blocked_countries],
  }));
  await insertBatched(sql, 'companies', companies);
  await insertBatched(sql, 'users', users);
  await insertBatched(sql, 'cards', cards);
  await insertBatched(sql, 'spending_controls', controls);
}
