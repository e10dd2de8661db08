import { card_transition_states } from '@afc/domain';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { literals, MarqetaToken, Tolerant, token_pattern } from '../schemas/common.ts';

// Core API requests carry what we send (checked before sending: a misfit is our bug) and
// answers carry what we read (tolerant of every field Marqeta adds).

// Marqeta caps tokens at 36 characters; we choose every token of a create ourselves.
export const RequestToken = Type.String({ pattern: token_pattern, maxLength: 36 });
const Day = Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' });
const Url = Type.String({ pattern: '^https?://', maxLength: 2000 });
const ReasonCode = Type.String({ pattern: '^[0-9]{2}$' });
const Reason = Type.String({ maxLength: 255 });

export const Channel = literals(['API', 'IVR', 'FRAUD', 'ADMIN', 'SYSTEM']);
export type Channel = Static<typeof Channel>;
export const UserStatus = literals(['UNVERIFIED', 'LIMITED', 'ACTIVE', 'SUSPENDED', 'CLOSED', 'TERMINATED']);
export type UserStatus = Static<typeof UserStatus>;
export const CardState = literals([
  'UNACTIVATED',
  'ACTIVE',
  'SUSPENDED',
  'TERMINATED',
  'LIMITED',
  'UNSUPPORTED',
]);
export type CardState = Static<typeof CardState>;
// The states a transition we request may ask for: the domain's list, so the two cannot drift.
export const CardTransitionState = literals(card_transition_states);
const CustomHeader = Type.Record(Type.String({ maxLength: 500 }), Type.String({ maxLength: 500 }), {
  maxProperties: 3,
});
const Metadata = Type.Record(Type.String({ maxLength: 255 }), Type.String({ maxLength: 255 }), {
  maxProperties: 20,
});

const userFields = {
  first_name: Type.Optional(Type.String({ maxLength: 40 })),
  last_name: Type.Optional(Type.String({ maxLength: 40 })),
  email: Type.Optional(Type.String({ maxLength: 255 })),
  metadata: Type.Optional(Metadata),
};
export const CreateUserRequest = Type.Object({
  token: RequestToken,
  active: Type.Optional(Type.Boolean()),
  ...userFields,
});
export type CreateUserRequest = Static<typeof CreateUserRequest>;
// Status changes go through user transitions, never through an update.
export const UpdateUserRequest = Type.Object(userFields, { minProperties: 1 });
export type UpdateUserRequest = Static<typeof UpdateUserRequest>;
export const User = Tolerant({
  token: MarqetaToken,
  active: Type.Optional(Type.Boolean()),
  status: Type.Optional(UserStatus),
  ...userFields,
  created_time: Type.Optional(Type.String()),
  last_modified_time: Type.Optional(Type.String()),
});
export type User = Static<typeof User>;

export const CreateUserTransitionRequest = Type.Object({
  token: RequestToken,
  user_token: RequestToken,
  status: UserStatus,
  reason_code: ReasonCode,
  reason: Type.Optional(Reason),
  channel: Channel,
});
export type CreateUserTransitionRequest = Static<typeof CreateUserTransitionRequest>;
export const UserTransition = Tolerant({
  token: MarqetaToken,
  user_token: MarqetaToken,
  status: UserStatus,
  channel: Channel,
  reason_code: Type.Optional(Type.String()),
  created_time: Type.Optional(Type.String()),
});
export type UserTransition = Static<typeof UserTransition>;

const ProductConfig = Type.Object({
  card_life_cycle: Type.Optional(Type.Object({ activate_upon_issue: Type.Optional(Type.Boolean()) })),
  jit_funding: Type.Optional(
    Type.Object({
      programgateway_funding_source: Type.Optional(
        Type.Object({ funding_source_token: RequestToken, enabled: Type.Boolean() }),
      ),
    }),
  ),
});
export const CreateCardProductRequest = Type.Object({
  token: RequestToken,
  name: Type.String({ minLength: 1, maxLength: 40 }),
  start_date: Day,
  end_date: Type.Optional(Day),
  active: Type.Optional(Type.Boolean()),
  config: Type.Optional(ProductConfig),
});
export type CreateCardProductRequest = Static<typeof CreateCardProductRequest>;
export const CardProduct = Tolerant({
  token: MarqetaToken,
  name: Type.String(),
  start_date: Type.String(),
  active: Type.Optional(Type.Boolean()),
  config: Type.Optional(
    Tolerant({
      jit_funding: Type.Optional(
        Tolerant({
          programgateway_funding_source: Type.Optional(
            Tolerant({ funding_source_token: MarqetaToken, enabled: Type.Boolean() }),
          ),
        }),
      ),
    }),
  ),
});
export type CardProduct = Static<typeof CardProduct>;

export const CreateCardRequest = Type.Object({
  token: RequestToken,
  user_token: RequestToken,
  card_product_token: RequestToken,
});
export type CreateCardRequest = Static<typeof CreateCardRequest>;
// No PAN or CVV: we never ask for them (show_pan, show_cvv_number), and never read them.
export const Card = Tolerant({
  token: MarqetaToken,
  user_token: MarqetaToken,
  card_product_token: MarqetaToken,
  last_four: Type.String({ pattern: '^[0-9]{4}$' }),
  expiration: Type.String({ pattern: '^[0-9]{4}$' }),
  expiration_time: Type.Optional(Type.String()),
  state: CardState,
  state_reason: Type.Optional(Type.String()),
  fulfillment_status: Type.Optional(Type.String()),
  created_time: Type.Optional(Type.String()),
});
export type Card = Static<typeof Card>;

export const CreateCardTransitionRequest = Type.Object({
  token: RequestToken,
  card_token: RequestToken,
  channel: Channel,
  state: CardTransitionState,
  reason_code: Type.Optional(ReasonCode),
  reason: Type.Optional(Reason),
});
export type CreateCardTransitionRequest = Static<typeof CreateCardTransitionRequest>;
export const CardTransition = Tolerant({
  token: MarqetaToken,
  card_token: MarqetaToken,
  state: CardState,
  channel: Channel,
  type: Type.Optional(Type.String()),
  created_time: Type.Optional(Type.String()),
});
export type CardTransition = Static<typeof CardTransition>;

export const CreateProgramGatewayFundingSourceRequest = Type.Object({
  token: RequestToken,
  name: Type.String({ minLength: 1, maxLength: 50 }),
  url: Url,
  basic_auth_username: Type.String({ minLength: 1, maxLength: 50 }),
  basic_auth_password: Type.String({ minLength: 20, maxLength: 100 }),
  // Marqeta waits at most 3 s whatever this says.
  timeout_millis: Type.Optional(Type.Integer({ minimum: 1, maximum: 60_000 })),
  custom_header: Type.Optional(CustomHeader),
  active: Type.Optional(Type.Boolean()),
  use_mtls: Type.Optional(Type.Boolean()),
});
export type CreateProgramGatewayFundingSourceRequest = Static<
  typeof CreateProgramGatewayFundingSourceRequest
>;
// Marqeta masks the password in answers: it is not read.
export const ProgramGatewayFundingSource = Tolerant({
  token: MarqetaToken,
  name: Type.String(),
  url: Type.String(),
  active: Type.Boolean(),
  timeout_millis: Type.Optional(Type.Integer()),
  account: Type.Optional(Type.String()),
  created_time: Type.Optional(Type.String()),
});
export type ProgramGatewayFundingSource = Static<typeof ProgramGatewayFundingSource>;

export const SignatureAlgorithm = literals(['HMAC_SHA_256', 'HMAC_SHA_1']);
export const CreateWebhookRequest = Type.Object({
  token: RequestToken,
  name: Type.String({ minLength: 1, maxLength: 64 }),
  active: Type.Optional(Type.Boolean()),
  events: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { minItems: 1, maxItems: 50 }),
  config: Type.Object({
    url: Url,
    basic_auth_username: Type.String({ minLength: 1, maxLength: 50 }),
    basic_auth_password: Type.String({ minLength: 20, maxLength: 50 }),
    secret: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    signature_algorithm: Type.Optional(SignatureAlgorithm),
    custom_header: Type.Optional(CustomHeader),
  }),
});
export type CreateWebhookRequest = Static<typeof CreateWebhookRequest>;
// Credentials and the secret come back masked: not read.
export const Webhook = Tolerant({
  token: MarqetaToken,
  name: Type.String(),
  active: Type.Boolean(),
  events: Type.Array(Type.String()),
  config: Tolerant({ url: Type.String(), signature_algorithm: Type.Optional(SignatureAlgorithm) }),
  created_time: Type.Optional(Type.String()),
});
export type Webhook = Static<typeof Webhook>;

// Marqeta's error body; both fields optional because proxies in front of it answer HTML.
export const ErrorBody = Tolerant({
  error_code: Type.Optional(Type.Union([Type.String({ maxLength: 32 }), Type.Integer()])),
  error_message: Type.Optional(Type.String()),
});

export interface Checker<T> {
  check(value: unknown): value is T;
  // Where and why a value does not fit: paths and rules only, never the values.
  issues(value: unknown): string[];
}

const max_issues = 5;

// Compiled once per schema (TypeBox JIT); every answer and request goes through one.
export function compileChecker<S extends TSchema>(schema: S): Checker<Static<S>> {
  const compiled = TypeCompiler.Compile(schema);
  return {
    check: (value): value is Static<S> => compiled.Check(value),
    issues(value) {
      const found: string[] = [];
      for (const error of compiled.Errors(value)) {
        found.push(`${error.path === '' ? '/' : error.path}: ${error.message}`);
        if (found.length >= max_issues) break;
      }
      return found;
    },
  };
}
