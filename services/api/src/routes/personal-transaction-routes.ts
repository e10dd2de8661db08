import { max_page_limit, type PersonalTransaction, personal_error_codes } from '@afc/personal-store';
import type { Service } from '@afc/service-kit';
import { Type } from '@sinclair/typebox';
import { bad_cursor, pageQuery } from '../pagination/cursor.ts';
import { error_responses, security, Timestamp, toIso } from '../schemas.ts';
import { notFound, requireAdmin } from './access.ts';
import { PersonalTokenParams } from './personal-routes.ts';

const Money = Type.Integer({ description: 'integer minor units of `currency`' });
const Nullable = Type.Union([Type.String(), Type.Null()]);
const PersonalTransactionBody = Type.Object({
  jit_token: Type.String(),
  card_token: Type.String(),
  user_token: Type.String(),
  // The state of the event that occurred last.
  state: Type.String(),
  state_at: Timestamp,
  currency: Type.String(),
  authorized_minor: Money,
  cleared_minor: Money,
  reversed_minor: Money,
  refunded_minor: Money,
  merchant_name: Nullable,
  merchant_mcc: Nullable,
  merchant_country: Nullable,
  created_at: Timestamp,
});
const Page = Type.Object({ data: Type.Array(PersonalTransactionBody), next_cursor: Nullable });
const PageQuery = pageQuery(max_page_limit);

function transactionBody(transaction: PersonalTransaction) {
  return {
    jit_token: transaction.jit_token,
    card_token: transaction.card_token,
    user_token: transaction.user_token,
    state: transaction.state,
    state_at: toIso(transaction.state_at),
    currency: transaction.currency,
    authorized_minor: transaction.authorized_minor,
    cleared_minor: transaction.cleared_minor,
    reversed_minor: transaction.reversed_minor,
    refunded_minor: transaction.refunded_minor,
    merchant_name: transaction.merchant.name,
    merchant_mcc: transaction.merchant.mcc,
    merchant_country: transaction.merchant.country_code,
    created_at: toIso(transaction.created_at),
  };
}

// A personal card's or cardholder's transactions from the personal store, newest first (admin
// key, like every personal route). The cursor is the store's, opaque and stable on both backends.
export async function personalTransactionRoutes(app: Service): Promise<void> {
  const store = app.personalStore;
  const routes = [
    {
      url: '/v1/personal/cards/:token/transactions',
      what: 'card',
      exists: async (token: string) => (await store.getCard(token)) !== null,
      list: store.listTransactionsByCard.bind(store),
    },
    {
      url: '/v1/personal/users/:token/transactions',
      what: 'user',
      exists: async (token: string) => (await store.getUser(token)) !== null,
      list: store.listTransactionsByUser.bind(store),
    },
  ] as const;
  for (const route of routes) {
    app.get(
      route.url,
      {
        schema: {
          tags: ['personal cardholders'],
          security,
          description: 'Newest first; pass next_cursor back as cursor for the next page.',
          params: PersonalTokenParams,
          querystring: PageQuery,
          response: { 200: Page, ...error_responses },
        },
      },
      async (request, reply) => {
        if (!requireAdmin(request, reply)) return reply;
        const { cursor, limit } = request.query;
        if (!(await route.exists(request.params.token))) return notFound(reply, route.what);
        try {
          const page = await route.list(request.params.token, {
            limit,
            ...(cursor === undefined ? {} : { cursor }),
          });
          return { data: page.items.map(transactionBody), next_cursor: page.next_cursor };
        } catch (error) {
          // The only input the store can still refuse here is a cursor it did not make.
          if ((error as { code?: unknown } | null)?.code === personal_error_codes.invalid_input)
            return reply.code(400).send(bad_cursor);
          throw error;
        }
      },
    );
  }
}
