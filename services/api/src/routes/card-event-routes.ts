import type { Service } from '@afc/service-kit';
import { Type } from '@sinclair/typebox';
import { bad_cursor, decodeCursor, encodeCursor, pageQuery } from '../pagination/cursor.ts';
import { error_responses, IdParams, security, Timestamp, Uuid } from '../schemas.ts';
import { companyOf, notFound, requireAdmin } from './access.ts';
import { PersonalTokenParams } from './personal-routes.ts';

const LifecycleEvent = Type.Object({
  id: Uuid,
  event_id: Type.String(),
  type: Type.String({
    description: 'card.issued, card.issue.failed, card.suspended, card.reactivated or card.terminated',
  }),
  card_token: Type.String(),
  user_token: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
  details: Type.Object(
    {},
    {
      additionalProperties: true,
      description:
        'card.issued: last_four, expiration_month, expiration_year; card.issue.failed: command_id, attempts, marqeta_error_code; a transition: from_state',
    },
  ),
  occurred_at: Timestamp,
});
const Page = Type.Object({
  data: Type.Array(LifecycleEvent),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});
const PageQuery = pageQuery(200);

interface EventRow {
  id: string;
  event_id: string;
  type: string;
  card_token: string;
  user_token: string;
  reason: string | null;
  details: Record<string, unknown>;
  occurred_at: string;
}

// Oldest first over (occurred_at, id), the order of the history index. occurred_at travels as
// text with microseconds (a JS Date would round to milliseconds and skip or repeat rows).
async function history(
  app: Service,
  card: { program: 'business' | 'personal'; card_token: string },
  limit: number,
  cursor: string | undefined,
) {
  const sql = app.postgres.sql;
  const after = cursor === undefined ? undefined : decodeCursor(cursor);
  const rows = await sql<EventRow[]>`
    select id, event_id, type, card_token, user_token, reason, details,
           to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as occurred_at
    from card_lifecycle_events
    where program = ${card.program} and card_token = ${card.card_token}
      ${after === undefined ? sql`` : sql`and (occurred_at, id) > (${after.created_at}::text::timestamptz, ${after.id}::uuid)`}
    order by occurred_at, id
    limit ${limit + 1}`;
  const data = rows.slice(0, limit);
  const last = data.at(-1);
  const next_cursor =
    rows.length > limit && last !== undefined ? encodeCursor(last.occurred_at, last.id) : null;
  return { data, next_cursor };
}

const description =
  "The card's lifecycle history, oldest first: issuance (or its failure, with the reason) and transitions. Operational history: the card's state is GET on the card.";

// Business: the company's own card only (another company's answers 404 like a missing one).
// Personal: the platform admin key, like every personal card route.
export async function cardEventRoutes(app: Service): Promise<void> {
  app.get(
    '/v1/cards/:id/events',
    {
      schema: {
        tags: ['cards'],
        security,
        description,
        params: IdParams,
        querystring: PageQuery,
        response: { 200: Page, ...error_responses },
      },
    },
    async (request, reply) => {
      const company_id = companyOf(request, reply);
      if (company_id === undefined) return reply;
      const { cursor, limit } = request.query;
      if (cursor !== undefined && decodeCursor(cursor) === undefined) return reply.code(400).send(bad_cursor);
      const [card] = await app.postgres.sql<{ card_token: string }[]>`
        select card_token from cards where id = ${request.params.id} and company_id = ${company_id}`;
      if (card === undefined) return notFound(reply, 'card');
      return history(app, { program: 'business', card_token: card.card_token }, limit, cursor);
    },
  );

  app.get(
    '/v1/personal/cards/:token/events',
    {
      schema: {
        tags: ['personal cardholders'],
        security,
        description,
        params: PersonalTokenParams,
        querystring: PageQuery,
        response: { 200: Page, ...error_responses },
      },
    },
    async (request, reply) => {
      if (!requireAdmin(request, reply)) return reply;
      const { cursor, limit } = request.query;
      if (cursor !== undefined && decodeCursor(cursor) === undefined) return reply.code(400).send(bad_cursor);
      const card = await app.personalStore.getCard(request.params.token);
      if (card === null) return notFound(reply, 'card');
      return history(app, { program: 'personal', card_token: card.card_token }, limit, cursor);
    },
  );
}
