import type { Service } from '@afc/service-kit';
import { type Static, Type } from '@sinclair/typebox';
import type { RouteContext } from '../app.ts';
import { error_responses, IdParams, security, Timestamp } from '../schemas.ts';
import { writeThrough } from '../transitions/transition-card.ts';
import { companyOf, notFound } from './access.ts';

// Null or absent: no limit of that kind. Amounts in the card's currency, integer minor units.
const Amount = Type.Union([Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }), Type.Null()]);
const Count = Type.Union([Type.Integer({ minimum: 0, maximum: 2_147_483_647 }), Type.Null()]);
const Mcc = Type.String({ pattern: '^[0-9]{4}$' });
const Lists = {
  // An empty allow-list would block everything silently: null means "all MCCs not blocked".
  mcc_allow: Type.Optional(
    Type.Union([Type.Array(Mcc, { minItems: 1, maxItems: 1_000, uniqueItems: true }), Type.Null()]),
  ),
  mcc_block: Type.Optional(Type.Array(Mcc, { maxItems: 1_000, uniqueItems: true })),
  blocked_merchant_ids: Type.Optional(
    Type.Array(Type.String({ pattern: '^[^\\s]{1,64}$' }), { maxItems: 1_000, uniqueItems: true }),
  ),
  blocked_countries: Type.Optional(
    Type.Array(Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 3166 alpha-3' }), {
      maxItems: 300,
      uniqueItems: true,
    }),
  ),
};
const limit_names = [
  'per_transaction_limit_minor',
  'daily_limit_minor',
  'weekly_limit_minor',
  'monthly_limit_minor',
  'daily_count_limit',
  'weekly_count_limit',
  'monthly_count_limit',
] as const;
const ControlsInput = Type.Object(
  {
    per_transaction_limit_minor: Type.Optional(Amount),
    daily_limit_minor: Type.Optional(Amount),
    weekly_limit_minor: Type.Optional(Amount),
    monthly_limit_minor: Type.Optional(Amount),
    daily_count_limit: Type.Optional(Count),
    weekly_count_limit: Type.Optional(Count),
    monthly_count_limit: Type.Optional(Count),
    ...Lists,
  },
  { additionalProperties: false },
);
type ControlsInput = Static<typeof ControlsInput>;
const Controls = Type.Object({
  card_id: Type.String(),
  currency: Type.String(),
  per_transaction_limit_minor: Amount,
  daily_limit_minor: Amount,
  weekly_limit_minor: Amount,
  monthly_limit_minor: Amount,
  daily_count_limit: Count,
  weekly_count_limit: Count,
  monthly_count_limit: Count,
  mcc_allow: Type.Union([Type.Array(Type.String()), Type.Null()]),
  mcc_block: Type.Array(Type.String()),
  blocked_merchant_ids: Type.Array(Type.String()),
  blocked_countries: Type.Array(Type.String()),
  version: Type.Integer(),
  updated_at: Timestamp,
});

interface ControlsRow extends Record<(typeof limit_names)[number], number | null> {
  card_id: string;
  currency_code: string;
  mcc_allow: string[] | null;
  mcc_block: string[];
  blocked_merchant_ids: string[];
  blocked_countries: string[];
  version: number;
  updated_at: Date;
}

function controlsBody({ currency_code, updated_at, ...row }: ControlsRow) {
  return { ...row, currency: currency_code, updated_at: updated_at.toISOString() };
}

const columns = `card_id, currency_code, ${limit_names.join(', ')}, mcc_allow, mcc_block,
  blocked_merchant_ids, blocked_countries, version, updated_at`;

export async function controlsRoutes(app: Service, context: RouteContext): Promise<void> {
  const sql = app.postgres.sql;
  app.put(
    '/v1/cards/:id/controls',
    {
      schema: {
        tags: ['spending controls'],
        security,
        description: "Replaces the card's controls; effective for authorizations before this answers.",
        params: IdParams,
        body: ControlsInput,
        response: { 200: Controls, ...error_responses },
      },
    },
    async (request, reply) => {
      const company_id = companyOf(request, reply);
      if (company_id === undefined) return reply;
      const saved = await upsertControls(app, company_id, request.params.id, request.body);
      if (saved === undefined) return notFound(reply, 'card');
      // Write-through before answering: the next decision sees these controls. The record is
      // read back whole so Redis gets the versions PostgreSQL assigned (it keeps the higher one).
      await writeThrough(app, context, saved.card_token);
      return controlsBody(saved.row);
    },
  );

  app.get(
    '/v1/cards/:id/controls',
    {
      schema: {
        tags: ['spending controls'],
        security,
        params: IdParams,
        response: { 200: Controls, ...error_responses },
      },
    },
    async (request, reply) => {
      const company_id = companyOf(request, reply);
      if (company_id === undefined) return reply;
      const [row] = await sql<ControlsRow[]>`
        select ${sql.unsafe(columns.replaceAll(/(\w+)/g, 'sc.$1'))}
        from spending_controls sc join cards c on c.id = sc.card_id
        where c.id = ${request.params.id} and c.company_id = ${company_id}`;
      if (row === undefined) return notFound(reply, 'controls');
      return controlsBody(row);
    },
  );
}

// A PUT replaces every control: what the body leaves out is cleared.
async function upsertControls(app: Service, company_id: string, card_id: string, input: ControlsInput) {
  const sql = app.postgres.sql;
  return sql.begin(async (tx) => {
    const [card] = await tx<{ card_token: string; currency_code: string }[]>`
      select card_token, currency_code from cards where id = ${card_id} and company_id = ${company_id} for update`;
    if (card === undefined) return undefined;
    const values = {
      card_id,
      currency_code: card.currency_code,
      ...Object.fromEntries(limit_names.map((name) => [name, input[name] ?? null])),
      mcc_allow: input.mcc_allow ?? null,
      mcc_block: input.mcc_block ?? [],
      blocked_merchant_ids: input.blocked_merchant_ids ?? [],
      blocked_countries: input.blocked_countries ?? [],
    };
    const updates = Object.keys(values).filter((name) => name !== 'card_id');
    const [row] = await tx<ControlsRow[]>`
      insert into spending_controls ${tx(values)}
      on conflict (card_id) do update set ${tx.unsafe(updates.map((n) => `${n} = excluded.${n}`).join(', '))},
        version = spending_controls.version + 1
      returning ${tx.unsafe(columns)}`;
    if (row === undefined) throw new Error('upsert returned no controls');
    return { card_token: card.card_token, row };
  });
}
