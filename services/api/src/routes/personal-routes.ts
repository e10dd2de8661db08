import { randomUUID } from 'node:crypto';
import type { CardIssueRequested } from '@afc/messages';
import {
  type CreateCardInput,
  kyc_statuses,
  type PersonalCard,
  type PersonalStore,
  type PersonalUser,
  unissuedCard,
  type Wallet,
} from '@afc/personal-store';
import type { Sql } from '@afc/postgres';
import type { Service } from '@afc/service-kit';
import { Type } from '@sinclair/typebox';
import type { RouteContext } from '../app.ts';
import { insertIssueCommand } from '../outbox/issue-command.ts';
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
const PersonalCardDetails = Type.Object({
  card_token: Type.String(),
  user_token: Type.String(),
  // unactivated while being issued, then active (suspended, terminated), or failed.
  state: Type.String(),
  failure_reason: Type.Union([Type.String(), Type.Null()]),
  currency: Type.String(),
  // Marqeta's, once issued (null before).
  last_four: Type.Union([Type.String(), Type.Null()]),
  expiration_month: Type.Union([Type.Integer(), Type.Null()]),
  expiration_year: Type.Union([Type.Integer(), Type.Null()]),
  card_product_token: Type.Union([Type.String(), Type.Null()]),
  created_at: Timestamp,
  updated_at: Timestamp,
});

// The store keeps placeholders (0000, 12/2099) until Marqeta's details are recorded: they are
// not shown as the card's.
function cardDetails(card: PersonalCard) {
  const issued = card.state !== 'unactivated' && card.state !== 'failed';
  return {
    card_token: card.card_token,
    user_token: card.user_token,
    state: card.state,
    failure_reason: card.failure_reason,
    currency: card.currency,
    last_four: issued ? card.last_four : null,
    expiration_month: issued ? card.expiration_month : null,
    expiration_year: issued ? card.expiration_year : null,
    card_product_token: card.card_product_token,
    created_at: toIso(card.created_at),
    updated_at: toIso(card.updated_at),
  };
}

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
      const currency = wallet.currency;
      const command: CardIssueRequested = {
        command_id: randomUUID(),
        program: 'personal',
        card_token,
        user_token,
        card_product_token,
        currency,
        requested_at: new Date().toISOString(),
      };
      // Placeholders for expiry and last four: the card-issuer records Marqeta's.
      const card = unissuedCard({ card_token, user_token, currency, card_product_token });
      try {
        await recordCardAndCommand(store, app.postgres.sql, card, command);
      } catch (error) {
        return storeFailure(error, reply);
      }
      context.outbox.wake();
      return reply.code(202).send({ card_token, user_token, state: 'unactivated' });
    },
  );

  app.get(
    '/v1/personal/cards/:token',
    {
      schema: {
        tags: ['personal cardholders'],
        security,
        description: "The card's state, also while it is being issued (and the reason if it failed).",
        params: PersonalTokenParams,
        response: { 200: PersonalCardDetails, ...error_responses },
      },
    },
    async (request, reply) => {
      if (!requireAdmin(request, reply)) return reply;
      const card = await store.getCard(request.params.token);
      if (card === null) return reply.code(404).send({ error: 'not_found', message: 'no such card' });
      return cardDetails(card);
    },
  );
}

// The card and its issue command, so that a recorded card is always issued: committed together
// on the PostgreSQL twin; on MongoDB the card first, then the command, and a crash in between
// leaves an 'unactivated' card without a command, which PersonalIssueSweep sends again.
async function recordCardAndCommand(
  store: PersonalStore,
  sql: Sql,
  card: CreateCardInput,
  command: CardIssueRequested,
): Promise<void> {
  await store.createCardWith(card, (tx) => insertIssueCommand(tx ?? sql, command));
}
