import { buildJitRequest } from '@afc/marqeta';
import type { Amount } from './amounts.ts';
import type { SeededRandom } from './random.ts';
import type { CardObject, TransactionContext, TransactionRecord } from './state.ts';

export const activity_methods = {
  authorization: 'pgfs.authorization',
  incremental: 'pgfs.authorization.incremental',
  balanceinquiry: 'pgfs.balanceinquiry',
  reversal: 'pgfs.authorization.reversal',
  clearing: 'pgfs.authorization.clearing',
  refund: 'pgfs.refund',
  advice: 'pgfs.authorization.advice',
} as const;
export type ActivityKind = keyof typeof activity_methods;

// These need the gateway's decision; the others only inform it (Marqeta applies them whatever
// the gateway answers).
export const actionable_kinds: ReadonlySet<ActivityKind> = new Set([
  'authorization',
  'incremental',
  'balanceinquiry',
]);

const subnetworks: Readonly<Record<string, string>> = { VISA: 'VISANET', MASTERCARD: 'MASTERCARDDMS' };
export const networks = Object.keys(subnetworks);

export interface MessageInput {
  readonly kind: ActivityKind;
  readonly transaction_token: string;
  readonly jit_token: string;
  readonly card: CardObject;
  readonly amount: Amount;
  readonly currency_code: string;
  readonly context: TransactionContext;
  readonly funding_source_token: string | undefined;
  readonly is_preauthorization: boolean;
  readonly original?: TransactionRecord;
}

// The transaction object Marqeta sends to the gateway: @afc/marqeta's realistic request,
// re-dressed with this activity's merchant, terminal, risk scores and links to the original.
export function buildTransactionMessage(input: MessageInput, random: SeededRandom): Record<string, unknown> {
  const { card, context, original } = input;
  const base: Record<string, unknown> = buildJitRequest({
    transaction_token: input.transaction_token,
    jit_token: input.jit_token,
    method: activity_methods[input.kind],
    card_token: card.token,
    user_token: card.user_token,
    amount: input.amount,
    currency_code: input.currency_code,
    mcc: context.merchant.mcc,
    mid: context.merchant.mid,
    merchant_name: context.merchant.name,
    country_code: context.merchant.country_code,
    network: context.network,
    ...(original === undefined ? {} : { original_jit_funding_token: original.jit_token }),
  });
  const { cardholder_authentication_data: _, ...rest } = base;
  const gpa_order = base.gpa_order as Record<string, unknown>;
  const jit_funding = {
    ...(gpa_order.jit_funding as Record<string, unknown>),
    ...(input.kind === 'clearing' && original !== undefined && original.incremental_jit_tokens.length > 0
      ? { incremental_authorization_jit_funding_tokens: [...original.incremental_jit_tokens] }
      : {}),
  };
  return {
    ...rest,
    subnetwork: subnetworks[context.network] ?? 'VISANET',
    is_preauthorization: input.is_preauthorization,
    ...(original === undefined ? {} : { preceding_related_transaction_token: original.token }),
    card: { last_four: card.last_four, expiration: card.expiration },
    card_product_token: card.card_product_token,
    gpa_order: {
      ...gpa_order,
      funding_source_token: input.funding_source_token ?? 'none',
      jit_funding,
    },
    card_acceptor: cardAcceptor(base.card_acceptor as Record<string, unknown>, input),
    pos: context.pos.pos,
    transaction_metadata: context.pos.transaction_metadata,
    ...(context.pos.cardholder_authentication_data === undefined
      ? {}
      : { cardholder_authentication_data: context.pos.cardholder_authentication_data }),
    fraud: {
      network: { transaction_risk_score: random.int(0, 99), account_risk_score: random.int(0, 9) },
      issuer_processor: {
        score: random.int(0, 99),
        risk_level: random.pick(['LOW', 'LOW', 'MEDIUM', 'HIGH']),
      },
    },
    acquirer: {
      ...(base.acquirer as Record<string, unknown>),
      retrieval_reference_number: random.digits(12),
      system_trace_audit_number: random.digits(6),
    },
  };
}

function cardAcceptor(base: Record<string, unknown>, input: MessageInput): Record<string, unknown> {
  const { merchant, pos } = input.context;
  const terminal_id = typeof pos.pos.terminal_id === 'string' ? pos.pos.terminal_id : 'ECOM0001';
  // The base's street belongs to its one grocer, not to this merchant.
  const { street_address: _, ...acceptor } = base;
  return {
    ...acceptor,
    city: merchant.city,
    state: merchant.state,
    postal_code: merchant.postal_code,
    poi: {
      tid: terminal_id,
      partial_approval_capable: pos.pos.partial_approval_capable === true ? '1' : '0',
      cardholder_presence: pos.pos.card_holder_presence === true ? '0' : '1',
      card_presence: pos.pos.card_presence === true ? '0' : '1',
    },
  };
}
