import type { CreditDepositResult } from '@afc/personal-store';
import type { Service } from '@afc/service-kit';
import { Type } from '@sinclair/typebox';
import type { RouteContext } from '../app.ts';
import { error_responses, security, Timestamp, Token, toIso } from '../schemas.ts';
import { creditedMinor, decimal_text_pattern } from '../wallet/convert-deposit.ts';
import { requireAdmin, storeFailure } from './access.ts';
import { PersonalTokenParams } from './personal-routes.ts';

const DecimalText = Type.String({
  pattern: decimal_text_pattern,
  description: 'decimal text, e.g. "0.0125"',
});
const DepositInput = Type.Object(
  {
    deposit_id: Token,
    crypto_currency: Type.String({ pattern: '^[A-Z0-9]{2,10}$' }),
    crypto_amount: DecimalText,
    rate: DecimalText,
    // Optional: when given, it must be exactly what the API computes.
    credited_minor: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
  },
  { additionalProperties: false },
);
const Deposit = Type.Object({
  deposit_id: Type.String(),
  user_token: Type.String(),
  crypto_currency: Type.String(),
  crypto_amount: Type.String(),
  rate: Type.String(),
  credited_minor: Type.Integer(),
  currency: Type.String(),
  created_at: Timestamp,
  wallet: Type.Object({
    available_minor: Type.Integer(),
    held_minor: Type.Integer(),
    version: Type.Integer(),
  }),
  replayed: Type.Boolean(),
});

// A repeat of a request still in flight elsewhere may re-credit Redis; past a day, the marker
// that makes the credit exactly-once (8 days) is the only guard left, so old repeats skip Redis.
const recredit_window_ms = 24 * 60 * 60 * 1000;

function depositBody({ deposit, wallet, replayed }: CreditDepositResult) {
  const { available_minor, held_minor, version } = wallet;
  return {
    ...deposit,
    created_at: toIso(deposit.created_at),
    wallet: { available_minor, held_minor, version },
    replayed,
  };
}

export async function personalWalletRoutes(app: Service, context: RouteContext): Promise<void> {
  const store = app.personalStore;
  app.post(
    '/v1/personal/users/:token/deposits',
    {
      schema: {
        tags: ['personal cardholders'],
        security,
        description:
          'Credits a confirmed crypto deposit converted at the given rate (rounded down to a minor unit). ' +
          'Idempotent by deposit_id: a repeat answers the first result.',
        params: PersonalTokenParams,
        body: DepositInput,
        response: { 200: Deposit, 201: Deposit, ...error_responses },
      },
    },
    async (request, reply) => {
      if (!requireAdmin(request, reply)) return reply;
      const user_token = request.params.token;
      const wallet = await store.getWallet(user_token);
      if (wallet === null) return reply.code(404).send({ error: 'not_found', message: 'no such user' });
      const { deposit_id, crypto_currency, crypto_amount, rate, credited_minor } = request.body;
      const conversion = creditedMinor(crypto_amount, rate, wallet.currency);
      if (!conversion.ok)
        return reply
          .code(400)
          .send({ error: 'bad_request', message: conversion.message, fields: [conversion.field] });
      if (credited_minor !== undefined && credited_minor !== conversion.credited_minor) {
        return reply.code(400).send({
          error: 'bad_request',
          message: `credited_minor must be ${conversion.credited_minor} (crypto_amount × rate, rounded down)`,
          fields: ['body.credited_minor'],
        });
      }
      let result: CreditDepositResult;
      try {
        result = await store.creditDeposit({
          deposit_id,
          user_token,
          crypto_currency,
          crypto_amount,
          rate,
          credited_minor: conversion.credited_minor,
          currency: wallet.currency,
        });
      } catch (error) {
        return storeFailure(error, reply);
      }
      // After the commit, before the answer: the authorizer's real-time balance gets it once.
      if (!result.replayed || Date.now() - result.deposit.created_at.getTime() < recredit_window_ms) {
        const outcome = await context.card_state.creditBalance({
          user_token,
          deposit_id,
          amount_minor: result.deposit.credited_minor,
          wallet_version: result.wallet.version,
          wallet: { available_minor: result.wallet.available_minor, held_minor: result.wallet.held_minor },
        });
        request.log.info({ user_token, deposit_id, outcome, replayed: result.replayed }, 'deposit credited');
      }
      return reply.code(result.replayed ? 200 : 201).send(depositBody(result));
    },
  );
}
