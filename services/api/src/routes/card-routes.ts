import { randomUUID } from 'node:crypto';
import type { CardIssueRequested } from '@afc/messages';
import type { Service } from '@afc/service-kit';
import { Type } from '@sinclair/typebox';
import type { RouteContext } from '../app.ts';
import { insertIssueCommand } from '../outbox/issue-command.ts';
import { Currency, error_responses, IdParams, security, Timestamp, Token, toIso, Uuid } from '../schemas.ts';
import { companyOf, notFound } from './access.ts';

const CardState = Type.String({ description: 'requested, issuing, active, suspended, terminated or failed' });
const Card = Type.Object({
  id: Uuid,
  card_token: Type.String(),
  user_id: Uuid,
  card_product_token: Type.String(),
  state: CardState,
  failure_reason: Type.Union([Type.String(), Type.Null()]),
  last_four: Type.Union([Type.String(), Type.Null()]),
  expiration_month: Type.Union([Type.Integer(), Type.Null()]),
  expiration_year: Type.Union([Type.Integer(), Type.Null()]),
  currency: Type.String(),
  created_at: Timestamp,
});

interface CardRow {
  id: string;
  card_token: string;
  user_id: string;
  card_product_token: string;
  state: string;
  failure_reason: string | null;
  last_four: string | null;
  expiration_month: number | null;
  expiration_year: number | null;
  currency_code: string;
  created_at: Date;
}

function cardBody({ currency_code, created_at, ...row }: CardRow) {
  return { ...row, currency: currency_code, created_at: toIso(created_at) };
}

export async function cardRoutes(app: Service, context: RouteContext): Promise<void> {
  app.post(
    '/v1/cards',
    {
      schema: {
        tags: ['cards'],
        security,
        description: 'Records the card and asks the card-issuer to issue it at Marqeta; answers at once.',
        body: Type.Object(
          { user_id: Uuid, card_product_token: Token, currency: Currency },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Object({ id: Uuid, card_token: Type.String(), state: CardState }),
          ...error_responses,
        },
      },
    },
    async (request, reply) => {
      const company_id = companyOf(request, reply);
      if (company_id === undefined) return reply;
      const { user_id, card_product_token, currency } = request.body;
      const created = await app.postgres.sql.begin(async (tx) => {
        const [user] = await tx<{ user_token: string }[]>`
          select user_token from users where id = ${user_id} and company_id = ${company_id} for share`;
        if (user === undefined) return undefined;
        const card_token = `c-${randomUUID()}`.slice(0, 36);
        const [card] = await tx<{ id: string; state: string }[]>`
          insert into cards (card_token, company_id, user_id, card_product_token, currency_code)
          values (${card_token}, ${company_id}, ${user_id}, ${card_product_token}, ${currency})
          returning id, state`;
        if (card === undefined) throw new Error('insert returned no card');
        const command_id = randomUUID();
        const command: CardIssueRequested = {
          command_id,
          program: 'business',
          card_token,
          user_token: user.user_token,
          card_product_token,
          currency,
          requested_at: new Date().toISOString(),
        };
        // In the card's transaction: the command exists exactly when the card does.
        await insertIssueCommand(tx, command);
        return { id: card.id, card_token, state: card.state };
      });
      if (created === undefined) return notFound(reply, 'user');
      context.outbox.wake();
      return reply.code(202).send(created);
    },
  );

  app.get(
    '/v1/cards/:id',
    { schema: { tags: ['cards'], security, params: IdParams, response: { 200: Card, ...error_responses } } },
    async (request, reply) => {
      const company_id = companyOf(request, reply);
      if (company_id === undefined) return reply;
      const [row] = await app.postgres.sql<CardRow[]>`
        select id, card_token, user_id, card_product_token, state, failure_reason, last_four,
               expiration_month, expiration_year, currency_code, created_at
        from cards where id = ${request.params.id} and company_id = ${company_id}`;
      if (row === undefined) return notFound(reply, 'card');
      return cardBody(row);
    },
  );
}
