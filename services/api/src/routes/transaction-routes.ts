import type { Service } from '@afc/service-kit';
import { Type } from '@sinclair/typebox';
import { bad_cursor, decodeCursor, encodeCursor, pageQuery } from '../pagination/cursor.ts';
import { error_responses, IdParams, security, Timestamp, Uuid } from '../schemas.ts';
import { companyOf, notFound } from './access.ts';

const Money = Type.Integer({ description: 'integer minor units of `currency`' });
const Nullable = Type.Union([Type.String(), Type.Null()]);
const Transaction = Type.Object({
  id: Uuid,
  card_id: Uuid,
  user_id: Uuid,
  jit_token: Type.String(),
  method: Type.String(),
  state: Type.String(),
  currency: Type.String(),
  requested_minor: Money,
  authorized_minor: Money,
  cleared_minor: Money,
  reversed_minor: Money,
  refunded_minor: Money,
  decline_reason: Nullable,
  merchant_name: Nullable,
  merchant_mcc: Nullable,
  merchant_country: Nullable,
  created_at: Timestamp,
});
const Page = Type.Object({ data: Type.Array(Transaction), next_cursor: Nullable });
const PageQuery = pageQuery(200);

interface TransactionRow {
  id: string;
  card_id: string;
  user_id: string;
  jit_token: string;
  method: string;
  state: string;
  currency: string;
  requested_minor: number;
  authorized_minor: number;
  cleared_minor: number;
  reversed_minor: number;
  refunded_minor: number;
  decline_reason: string | null;
  merchant_name: string | null;
  merchant_mcc: string | null;
  merchant_country: string | null;
  created_at: string;
}

type Owner = 'card_id' | 'user_id';

// Newest first over (created_at, id), the order of the (owner, created_at desc, id desc) indexes.
// created_at travels as text with microseconds, and goes back in as text (postgres.js would
// serialize a timestamptz parameter through a JS Date): milliseconds would skip or repeat rows.
async function page(app: Service, owner: Owner, owner_id: string, limit: number, cursor: string | undefined) {
  const sql = app.postgres.sql;
  const after = cursor === undefined ? undefined : decodeCursor(cursor);
  const rows = await sql<TransactionRow[]>`
    select id, card_id, user_id, jit_token, method, state, currency_code as currency, requested_minor,
           authorized_minor, cleared_minor, reversed_minor, refunded_minor, decline_reason, merchant_name,
           merchant_mcc, merchant_country,
           to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_at
    from transactions
    where ${sql(owner)} = ${owner_id}
      ${after === undefined ? sql`` : sql`and (created_at, id) < (${after.created_at}::text::timestamptz, ${after.id}::uuid)`}
    order by created_at desc, id desc
    limit ${limit + 1}`;
  const data = rows.slice(0, limit);
  const last = data.at(-1);
  const next_cursor =
    rows.length > limit && last !== undefined ? encodeCursor(last.created_at, last.id) : null;
  return { data, next_cursor };
}

export async function transactionRoutes(app: Service): Promise<void> {
  const routes = [
    { url: '/v1/cards/:id/transactions', owner: 'card_id', table: 'cards', what: 'card' },
    { url: '/v1/users/:id/transactions', owner: 'user_id', table: 'users', what: 'user' },
  ] as const;
  for (const route of routes) {
    app.get(
      route.url,
      {
        schema: {
          tags: ['transactions'],
          security,
          description: 'Newest first; pass next_cursor back as cursor for the next page.',
          params: IdParams,
          querystring: PageQuery,
          response: { 200: Page, ...error_responses },
        },
      },
      async (request, reply) => {
        const company_id = companyOf(request, reply);
        if (company_id === undefined) return reply;
        const { cursor, limit } = request.query;
        if (cursor !== undefined && decodeCursor(cursor) === undefined)
          return reply.code(400).send(bad_cursor);
        const sql = app.postgres.sql;
        const [owned] = await sql`
          select 1 from ${sql(route.table)} where id = ${request.params.id} and company_id = ${company_id}`;
        if (owned === undefined) return notFound(reply, route.what);
        return page(app, route.owner, request.params.id, limit, cursor);
      },
    );
  }
}
