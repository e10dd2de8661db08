import { CurrencyCode, Mcc, token_pattern } from '@afc/marqeta';
import { type Static, Type } from '@sinclair/typebox';

// Request bodies as Marqeta accepts them: the fields the simulator uses are checked, the
// rest are kept and shown back (Marqeta objects carry many more fields than we model).
const open = { additionalProperties: true } as const;

// Marqeta tokens are at most 36 characters.
export const Token = Type.String({ pattern: token_pattern, maxLength: 36 });
export const TokenParams = Type.Object({ token: Token });

const Amount = Type.Union([Type.Number(), Type.String({ minLength: 1, maxLength: 20 })]);
const Channel = Type.Union(['API', 'IVR', 'FRAUD', 'ADMIN', 'SYSTEM'].map((value) => Type.Literal(value)));
const ReasonCode = Type.String({ pattern: '^[0-9]{2}$' });
const Reason = Type.String({ maxLength: 255 });
const CustomHeader = Type.Record(Type.String({ maxLength: 500 }), Type.String({ maxLength: 500 }), {
  maxProperties: 3,
});
const Url = Type.String({ pattern: '^https?://', maxLength: 2000 });

export const UserBody = Type.Object(
  {
    token: Type.Optional(Token),
    active: Type.Optional(Type.Boolean()),
    first_name: Type.Optional(Type.String({ maxLength: 40 })),
    last_name: Type.Optional(Type.String({ maxLength: 40 })),
    email: Type.Optional(Type.String({ maxLength: 255 })),
  },
  open,
);
export type UserBody = Static<typeof UserBody>;

export const UserTransitionBody = Type.Object({
  token: Type.Optional(Token),
  user_token: Token,
  status: Type.Union(
    ['UNVERIFIED', 'LIMITED', 'ACTIVE', 'SUSPENDED', 'CLOSED', 'TERMINATED'].map((value) =>
      Type.Literal(value),
    ),
  ),
  reason_code: ReasonCode,
  reason: Type.Optional(Reason),
  channel: Channel,
});
export type UserTransitionBody = Static<typeof UserTransitionBody>;

export const CardProductBody = Type.Object(
  {
    token: Type.Optional(Token),
    name: Type.String({ minLength: 1, maxLength: 40 }),
    start_date: Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' }),
    end_date: Type.Optional(Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' })),
    active: Type.Optional(Type.Boolean()),
    config: Type.Optional(
      Type.Object(
        {
          card_life_cycle: Type.Optional(
            Type.Object({ activate_upon_issue: Type.Optional(Type.Boolean()) }, open),
          ),
          jit_funding: Type.Optional(
            Type.Object(
              {
                programgateway_funding_source: Type.Optional(
                  Type.Object({ funding_source_token: Token, enabled: Type.Boolean() }, open),
                ),
              },
              open,
            ),
          ),
        },
        open,
      ),
    ),
  },
  open,
);
export type CardProductBody = Static<typeof CardProductBody>;

export const CardBody = Type.Object(
  { token: Type.Optional(Token), user_token: Token, card_product_token: Token },
  open,
);
export type CardBody = Static<typeof CardBody>;

export const ShowQuery = Type.Object({
  show_pan: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
  show_cvv_number: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
});

export const CardTransitionBody = Type.Object({
  token: Type.Optional(Token),
  card_token: Token,
  channel: Channel,
  state: Type.Union([Type.Literal('ACTIVE'), Type.Literal('SUSPENDED'), Type.Literal('TERMINATED')]),
  reason_code: Type.Optional(ReasonCode),
  reason: Type.Optional(Reason),
});
export type CardTransitionBody = Static<typeof CardTransitionBody>;

const fundingSourceFields = {
  name: Type.String({ minLength: 1, maxLength: 50 }),
  url: Url,
  basic_auth_username: Type.String({ minLength: 1, maxLength: 50 }),
  basic_auth_password: Type.String({ minLength: 20, maxLength: 100 }),
  timeout_millis: Type.Optional(Type.Integer({ minimum: 1, maximum: 60_000 })),
  custom_header: Type.Optional(CustomHeader),
  active: Type.Optional(Type.Boolean()),
  use_mtls: Type.Optional(Type.Boolean()),
};

export const FundingSourceBody = Type.Object({ token: Type.Optional(Token), ...fundingSourceFields });
export type FundingSourceBody = Static<typeof FundingSourceBody>;
export const FundingSourceUpdate = Type.Partial(Type.Object(fundingSourceFields));
export type FundingSourceUpdate = Static<typeof FundingSourceUpdate>;

const WebhookConfigBody = Type.Object({
  url: Url,
  basic_auth_username: Type.String({ minLength: 1, maxLength: 50 }),
  basic_auth_password: Type.String({ minLength: 20, maxLength: 50 }),
  secret: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  signature_algorithm: Type.Optional(Type.Union([Type.Literal('HMAC_SHA_256'), Type.Literal('HMAC_SHA_1')])),
  custom_header: Type.Optional(CustomHeader),
  use_mtls: Type.Optional(Type.Boolean()),
});

export const WebhookBody = Type.Object({
  token: Type.Optional(Token),
  name: Type.String({ minLength: 1, maxLength: 64 }),
  active: Type.Optional(Type.Boolean()),
  events: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { minItems: 1, maxItems: 50 }),
  config: WebhookConfigBody,
});
export type WebhookBody = Static<typeof WebhookBody>;
export const WebhookUpdate = Type.Partial(Type.Omit(WebhookBody, ['token']));
export type WebhookUpdate = Static<typeof WebhookUpdate>;

export const ReplayParams = Type.Object({
  token: Token,
  event_type: Type.Union([
    Type.Literal('transaction'),
    Type.Literal('cardtransition'),
    Type.Literal('usertransition'),
  ]),
  event_token: Token,
});

const CardAcceptorBody = Type.Object({
  mcc: Type.Optional(Mcc),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  country_code: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' })),
  city: Type.Optional(Type.String({ maxLength: 100 })),
  state: Type.Optional(Type.String({ maxLength: 20 })),
  postal_code: Type.Optional(Type.String({ maxLength: 20 })),
});

const merchantFields = {
  mid: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })),
  currency_code: Type.Optional(CurrencyCode),
  network: Type.Optional(Type.Union([Type.Literal('VISA'), Type.Literal('MASTERCARD')])),
  card_acceptor: Type.Optional(CardAcceptorBody),
};

export const AuthorizationBody = Type.Object({
  card_token: Token,
  amount: Amount,
  is_pre_auth: Type.Optional(Type.Boolean()),
  ...merchantFields,
});

export const FollowUpBody = Type.Object({ original_transaction_token: Token, amount: Type.Optional(Amount) });

export const RefundBody = Type.Object({
  card_token: Type.Optional(Token),
  original_transaction_token: Type.Optional(Token),
  amount: Amount,
  ...merchantFields,
});

export const BalanceInquiryBody = Type.Object({ card_token: Token, ...merchantFields });

const Rate = Type.Number({ minimum: 0, maximum: 1 });
const LatencyMs = Type.Integer({ minimum: 0, maximum: 60_000 });

export const FaultsBody = Type.Object(
  {
    jit_latency_ms: Type.Optional(LatencyMs),
    core_latency_ms: Type.Optional(LatencyMs),
    core_error_rate: Type.Optional(Rate),
    core_429_rate: Type.Optional(Rate),
    retry_after_s: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600 })),
    drop_connection_rate: Type.Optional(Rate),
    webhooks_paused: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type FaultsBody = Static<typeof FaultsBody>;
