import { type Static, Type } from '@sinclair/typebox';
import { CountryCode, CurrencyCode, MarqetaAmount, MarqetaToken, Mcc, Tolerant } from './common.ts';

export const JitFundingRequestPart = Tolerant({
  token: MarqetaToken,
  method: Type.String({ minLength: 1, maxLength: 100 }),
  user_token: MarqetaToken,
  acting_user_token: Type.Optional(MarqetaToken),
  business_token: Type.Optional(MarqetaToken),
  amount: MarqetaAmount,
  original_jit_funding_token: Type.Optional(MarqetaToken),
  incremental_authorization_jit_funding_tokens: Type.Optional(Type.Array(MarqetaToken, { maxItems: 100 })),
  memo: Type.Optional(Type.String({ maxLength: 255 })),
  tags: Type.Optional(Type.String({ maxLength: 255 })),
});

export const CardAcceptor = Tolerant({
  mid: Type.Optional(Type.String({ maxLength: 64 })),
  mcc: Type.Optional(Mcc),
  name: Type.Optional(Type.String({ maxLength: 255 })),
  city: Type.Optional(Type.String({ maxLength: 255 })),
  state: Type.Optional(Type.String({ maxLength: 64 })),
  postal_code: Type.Optional(Type.String({ maxLength: 32 })),
  country_code: Type.Optional(CountryCode),
});

const GpaOrder = Tolerant({ jit_funding: JitFundingRequestPart });

// The JIT funding request is a transaction object; the funding part sits in `gpa_order`
// (loads) or `gpa_order_unload` (unloads). Exactly one must be present: checked by the
// authorizer after validation, because a JSON-schema oneOf gives unreadable errors.
export const JitFundingRequest = Tolerant({
  token: Type.Optional(MarqetaToken),
  type: Type.Optional(Type.String({ maxLength: 100 })),
  state: Type.Optional(Type.String({ maxLength: 32 })),
  user_token: Type.Optional(MarqetaToken),
  acting_user_token: Type.Optional(MarqetaToken),
  card_token: MarqetaToken,
  amount: Type.Optional(MarqetaAmount),
  request_amount: Type.Optional(MarqetaAmount),
  currency_code: CurrencyCode,
  network: Type.Optional(Type.String({ maxLength: 64 })),
  subnetwork: Type.Optional(Type.String({ maxLength: 64 })),
  created_time: Type.Optional(Type.String({ maxLength: 64 })),
  preceding_related_transaction_token: Type.Optional(MarqetaToken),
  gpa_order: Type.Optional(GpaOrder),
  gpa_order_unload: Type.Optional(GpaOrder),
  card_acceptor: Type.Optional(CardAcceptor),
});
export type JitFundingRequest = Static<typeof JitFundingRequest>;

const Balance = Type.Object({
  currency_code: Type.String(),
  available_balance: Type.Number(),
  ledger_balance: Type.Number(),
});

// What we answer: 200 approves, 402 declines. Marqeta needs the echo of the request's
// identifiers and amount exactly as received (number stays number, "1.00" stays "1.00").
export const JitFundingResponse = Type.Object({
  jit_funding: Type.Object({
    token: Type.String(),
    method: Type.String(),
    user_token: Type.String(),
    acting_user_token: Type.Optional(Type.String()),
    original_jit_funding_token: Type.Optional(Type.String()),
    amount: MarqetaAmount,
    decline_reason: Type.Optional(Type.String()),
    memo: Type.Optional(Type.String()),
    tags: Type.Optional(Type.String()),
    balances: Type.Optional(Type.Record(Type.String(), Balance)),
  }),
});
export type JitFundingResponse = Static<typeof JitFundingResponse>;

// Marqeta's decline_reason values: one list, kept with the rules that choose among them.
export { type DeclineReason, decline_reasons } from '@afc/domain';

export type JitFundingPart = Static<typeof JitFundingRequestPart>;

// The funding part of a request, wherever Marqeta put it; undefined when neither or both are
// present (a malformed request).
export function jitFundingOf(request: JitFundingRequest): JitFundingPart | undefined {
  const load = request.gpa_order?.jit_funding;
  const unload = request.gpa_order_unload?.jit_funding;
  if (load !== undefined && unload !== undefined) return undefined;
  return load ?? unload;
}
