import { classifyMethod, decline_reasons } from '@afc/domain';
import { MarqetaAmount, MarqetaToken } from '@afc/marqeta';
import { WebhookReceived } from '@afc/messages';
import { parseAmount } from '@afc/money';
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { SettlementError } from './errors.ts';
import type { Contribution, ContributionType } from './ledger.ts';

// The parts of Marqeta's transaction object (a transaction webhook event) settlement reads; the
// rest is tolerated. Tokens and amounts as @afc/marqeta accepts them.
const token = MarqetaToken;
const amount = MarqetaAmount;
const open = { additionalProperties: true } as const;
const optionalText = (max: number) => Type.Optional(Type.String({ maxLength: max }));

const JitFunding = Type.Object(
  {
    token,
    method: Type.String({ minLength: 1, maxLength: 100 }),
    user_token: token,
    amount,
    original_jit_funding_token: Type.Optional(token),
    decline_reason: optionalText(64),
    memo: optionalText(255),
  },
  open,
);

const GpaOrder = Type.Object(
  {
    jit_funding: Type.Optional(JitFunding),
    funding: Type.Optional(
      Type.Object(
        { gateway_log: Type.Optional(Type.Object({ timed_out: Type.Optional(Type.Boolean()) }, open)) },
        open,
      ),
    ),
  },
  open,
);

export const TransactionEvent = Type.Object(
  {
    token,
    type: Type.String({ minLength: 1, maxLength: 100 }),
    state: Type.String({ minLength: 1, maxLength: 32 }),
    user_token: token,
    card_token: token,
    amount,
    currency_code: Type.String({ pattern: '^[A-Z]{3}$' }),
    created_time: Type.String({ minLength: 10, maxLength: 64 }),
    network: optionalText(64),
    preceding_related_transaction_token: Type.Optional(token),
    gpa_order: Type.Optional(GpaOrder),
    gpa_order_unload: Type.Optional(GpaOrder),
    card_acceptor: Type.Optional(
      Type.Object(
        {
          mid: optionalText(64),
          mcc: Type.Optional(Type.String({ pattern: '^[0-9]{4}$' })),
          name: optionalText(255),
          country_code: Type.Optional(Type.String({ pattern: '^[A-Za-z]{2,3}$' })),
        },
        open,
      ),
    ),
  },
  open,
);
export type TransactionEvent = Static<typeof TransactionEvent>;

// What settlement takes from one transaction webhook: which row, which effect, how much.
export interface WebhookFacts {
  readonly event_id: string;
  readonly ledger_token: string;
  readonly card_token: string;
  readonly user_token: string;
  readonly currency: string;
  readonly amount_minor: number;
  readonly occurred_at_ms: number;
  // Marqeta's type (authorization.clearing, ...): the history's kind is webhook.<type>.
  readonly marqeta_type: string;
  readonly timed_out: boolean;
  // Marqeta declined it (DECLINED or ERROR), for whatever reason.
  readonly declined: boolean;
  // The JIT message (for a timeout release through card-state).
  readonly jit_token: string;
  readonly original_jit_token: string | null;
  readonly method: string;
  readonly kind: ReturnType<typeof classifyMethod>['kind'];
  readonly contribution: Contribution;
}

function invalid(message_id: string, detail: string): SettlementError {
  return new SettlementError('AFC_SETTLEMENT_INVALID_EVENT', `${message_id}: ${detail}`);
}

// Compiled once: Value.Check interprets the schema on every message.
const webhook_received = TypeCompiler.Compile(WebhookReceived);
const transaction_event = TypeCompiler.Compile(TransactionEvent);

function parseEnvelope(message_id: string, payload: unknown): TransactionEvent {
  if (!webhook_received.Check(payload)) throw invalid(message_id, 'not a WebhookReceived message');
  if (payload.type !== 'transactions') throw invalid(message_id, `webhook type ${payload.type}`);
  if (payload.event.token !== message_id) throw invalid(message_id, 'event token differs from message id');
  const event = payload.event;
  if (!transaction_event.Check(event)) {
    const first = transaction_event.Errors(event).First();
    throw invalid(message_id, `${first?.path} ${first?.message}`);
  }
  return event;
}

const known_reasons: readonly string[] = decline_reasons;

// Marqeta's transaction type and outcome as the authorizer's event type it corresponds to; null:
// nothing for the ledger (balance inquiries, notifications, unsupported methods).
function typeOf(kind: WebhookFacts['kind'], declined: boolean, timed_out: boolean): ContributionType | null {
  // A clearing, reversal, refund or advice Marqeta declined (or that errored) moved no money:
  // counting its amount would put on the row what Redis, the totals and the wallet never saw.
  if (declined && kind !== 'authorization' && kind !== 'incremental') return null;
  switch (kind) {
    case 'authorization':
    case 'incremental':
      if (timed_out) return 'authorization.timeout_released';
      if (declined) return 'authorization.declined';
      return kind === 'authorization' ? 'authorization.approved' : 'authorization.incremental';
    case 'reversal':
      return 'authorization.reversed';
    case 'clearing':
      return 'transaction.cleared';
    case 'refund':
      return 'transaction.refunded';
    case 'advice':
      return 'authorization.advice';
    default:
      return null;
  }
}

function amountsOf(type: ContributionType, kind: WebhookFacts['kind'], amount: number) {
  const zero = { requested: 0, authorized: 0, undone: 0, cleared: 0, released: 0, refunded: 0 };
  switch (type) {
    case 'authorization.approved':
    case 'authorization.incremental':
    case 'authorization.advice':
      return { ...zero, requested: amount, authorized: amount };
    case 'authorization.declined':
      return { ...zero, requested: amount };
    // Marqeta declined what we approved: an incremental's amount comes off the authorization;
    // an authorization is declined whole.
    case 'authorization.timeout_released':
      return kind === 'authorization' ? { ...zero, requested: amount } : { ...zero, undone: amount };
    case 'authorization.reversed':
      return { ...zero, released: amount };
    case 'transaction.cleared':
      return { ...zero, cleared: amount };
    case 'transaction.refunded':
      return { ...zero, refunded: amount };
    case 'hold.expired':
      return zero;
  }
}

function occurredAt(message_id: string, created_time: string): number {
  const ms = Date.parse(created_time);
  if (!Number.isSafeInteger(ms) || ms < 0) throw invalid(message_id, 'created_time is not a time');
  return ms;
}

// null: a transaction the ledger has nothing to do with (acknowledged, recorded as processed),
// including an informative one Marqeta declined.
// Throws AFC_SETTLEMENT_INVALID_EVENT for a malformed event and AFC_SETTLEMENT_UNMATCHED_WEBHOOK
// for one without the JIT funding part (parked: in a JIT program every transaction has one).
export function parseTransactionWebhook(message_id: string, payload: unknown): WebhookFacts | null {
  const event = parseEnvelope(message_id, payload);
  const jit = event.gpa_order?.jit_funding ?? event.gpa_order_unload?.jit_funding;
  if (jit === undefined) throw new SettlementError('AFC_SETTLEMENT_UNMATCHED_WEBHOOK', message_id);
  const kind = classifyMethod(jit.method).kind;
  const declined = event.state === 'DECLINED' || event.state === 'ERROR';
  const timed_out = event.gpa_order?.funding?.gateway_log?.timed_out === true && declined;
  const type = typeOf(kind, declined, timed_out);
  if (type === null) return null;
  const parsed = parseAmount(jit.amount, event.currency_code, { allow_zero: true });
  if (!parsed.ok) throw invalid(message_id, `amount: ${parsed.error.code}`);
  const a = amountsOf(type, kind, parsed.value.minor);
  const original = jit.original_jit_funding_token ?? null;
  // As the authorizer files them: a declined message is a row of its own, the rest land on the
  // authorization they name.
  const ledger_token = type === 'authorization.declined' || original === null ? jit.token : original;
  const reason =
    jit.decline_reason !== undefined && known_reasons.includes(jit.decline_reason)
      ? jit.decline_reason
      : 'TRANSACTION_NOT_PERMITTED';
  const occurred_at_ms = occurredAt(message_id, event.created_time);
  const merchant = event.card_acceptor;
  const contribution: Contribution = {
    type,
    source: 'webhook',
    effect: `${jit.token}:${type}`,
    request_key: jit.token,
    kind,
    method: jit.method,
    occurred_at_ms,
    requested_minor: a.requested,
    authorized_minor: a.authorized,
    undone_minor: a.undone,
    cleared_minor: a.cleared,
    released_minor: a.released,
    refunded_minor: a.refunded,
    declined: type === 'authorization.declined' || (timed_out && kind === 'authorization'),
    decline_reason: declined ? reason : null,
    // Why, in our words: the gateway's answer came too late for Marqeta.
    memo: timed_out ? 'gateway_timed_out' : declined ? (jit.memo ?? null) : null,
    note: timed_out ? 'marqeta_timed_out' : null,
    original_jit_token: original,
    transaction_token: event.token,
    network: event.network ?? null,
    merchant: {
      mcc: merchant?.mcc ?? null,
      mid: merchant?.mid ?? null,
      country: merchant?.country_code?.toUpperCase() ?? null,
      ...(merchant?.name === undefined ? {} : { name: merchant.name }),
    },
  };
  return {
    event_id: message_id,
    ledger_token,
    card_token: event.card_token,
    user_token: event.user_token,
    currency: event.currency_code,
    amount_minor: parsed.value.minor,
    occurred_at_ms,
    marqeta_type: event.type,
    timed_out,
    declined,
    jit_token: jit.token,
    original_jit_token: original,
    method: jit.method,
    kind,
    contribution,
  };
}
