import { randomUUID } from 'node:crypto';
import { exchange_names, routing_keys } from '@afc/amqp';
import type { CardIssueRequested } from '@afc/messages';
import { kyc_statuses, type PersonalUser, type Wallet } from '@afc/personal-store';
import type { Service } from '@afc/service-kit';
import { Type } from '@sinclair/typebox';
import type { RouteContext } from '../app.ts';
import { Currency, Email, error_responses, security, Timestamp, Token, toIso } from '../schemas.ts';
import { requireAdmin, storeFailure } from './access.ts';

export const PersonalTokenParams = Type.Object({ token: Token }, { additionalProperties: false });
const KycStatus = Type.Union(kyc_statuses.map((status) => Type.Literal(status)));
const WalletBody = Type.Object({
  currency: Type.String(),
  available_minor: Type.Integer(),
  held_minor: Type.Integer(),
  version: Type.Integer(),
});
const PersonalUserBody = Type.Object({
  user_token: Type.String(),
  email: Type.String(),
  kyc_status: Type.String(),
  status: Type.String(),
  wallet_address: Type.String(),
  wallet: WalletBody,
  created_at: Timestamp,
});
const PersonalCardBody = Type.Object({
  card_token: Type.String(),
  user_token: Type.String(),
  state: Type.String(),
});

function userBody(user: PersonalUser, wallet: Wallet) {
  const { user_token, email, kyc_status, status, wallet_address } = user;
  const { currency, available_minor, held_minor, version } = wallet;
  return {
    user_token,
    email,
    kyc_status,
    status,
    wallet_address,
    wallet: { currency, available_minor, held_minor, version },
    created_at: toIso(user.created_at),
  };
}

// Personal cardholders belong to the platform's own program: the platform admin key manages
// them (see the README's auth section for why not the cardholder's own key).
export async function personalRoutes(app: Service, context: RouteContext): Promise<void> {
  const store = app.personalStore;
  app.post(
    '/v1/personal/users',
    {
      schema: {
        tags: ['personal cardholders'],
        security,
        description: 'A person with a KYC status and an empty wallet in the card currency.',
        body: Type.Object(
          {
            email: Email,
            wallet_address: Type.String({ pattern: '^[A-Za-z0-9:._-]{8,128}$' }),
            currency: Currency,
            kyc_status: Type.Optional(KycStatus),
          },
          { additionalProperties: false },
        ),
        response: { 201: PersonalUserBody, ...error_responses },
      },
    },
    async (request, reply) => {
      if (!requireAdmin(request, reply)) return reply;
      const { email, wallet_address, currency, kyc_status } = request.body;
      const user_token = `p-${randomUUID()}`.slice(0, 36);
      try {
        const user = await store.createUser({
          user_token,
          email,
          wallet_address,
          currency,
          kyc_status: kyc_status ?? 'pending',
        });
        const wallet = await store.getWallet(user_token);
        if (wallet === null) throw new Error('user created without a wallet');
        return reply.code(201).send(userBody(user, wallet));
      } catch (error) {
        return storeFailure(error, reply);
      }
    },
  );

  app.get(
    '/v1/personal/users/:token',
    {
      schema: {
        tags: ['personal cardholders'],
        security,
        params: PersonalTokenParams,
        response: { 200: PersonalUserBody, ...error_responses },
      },
    },
    async (request, reply) => {
      if (!requireAdmin(request, reply)) return reply;
      const [user, wallet] = await Promise.all([
        store.getUser(request.params.token),
        store.getWallet(request.params.token),
      ]);
      if (user === null || wallet === null)
        return reply.code(404).send({ error: 'not_found', message: 'no such user' });
      return userBody(user, wallet);
    },
  );

  app.post(
    '/v1/personal/cards',
    {
      schema: {
        tags: ['personal cardholders'],
        security,
        description:
          "Records the card (unactivated) and asks the card-issuer to issue it; the wallet's currency.",
        body: Type.Object({ user_token: Token, card_product_token: Token }, { additionalProperties: false }),
        response: { 202: PersonalCardBody, ...error_responses },
      },
    },
    async (request, reply) => {
      if (!requireAdmin(request, reply)) return reply;
      const { user_token, card_product_token } = request.body;
      const [user, wallet] = await Promise.all([store.getUser(user_token), store.getWallet(user_token)]);
      if (user === null || wallet === null)
        return reply.code(404).send({ error: 'not_found', message: 'no such user' });
      if (user.kyc_status !== 'verified' || user.status !== 'active') {
        return reply.code(409).send({
          error: 'conflict',
          message: `a card needs a verified, active cardholder (KYC ${user.kyc_status}, ${user.status})`,
          fields: ['body.user_token'],
        });
      }
      const card_token = `pc-${randomUUID()}`.slice(0, 36);
      // The store needs expiry and last four now; Marqeta's arrive in card.issued (see README).
      await store.createCard({
        card_token,
        user_token,
        state: 'unactivated',
        currency: wallet.currency,
        expiration_month: 12,
        expiration_year: 2099,
        last_four: '0000',
      });
      await enqueueIssue(app, { card_token, user_token, card_product_token, currency: wallet.currency });
      context.outbox.wake();
      return reply.code(202).send({ card_token, user_token, state: 'unactivated' });
    },
  );
}

async function enqueueIssue(
  app: Service,
  card: { card_token: string; user_token: string; card_product_token: string; currency: string },
) {
  const command_id = randomUUID();
  const command: CardIssueRequested = {
    command_id,
    program: 'personal',
    ...card,
    requested_at: new Date().toISOString(),
  };
  const sql = app.postgres.sql;
  await sql`
    insert into outbox_messages (message_id, exchange, routing_key, payload)
    values (${command_id}, ${exchange_names.events}, ${routing_keys.card_issue_requested}, ${sql.json(command)})`;
}
