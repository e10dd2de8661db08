import { randomUUID } from 'node:crypto';
import type { Logger } from '@afc/log';
import type { Dispatcher } from 'undici';
import { type Amount, type AmountRules, checkAmount, fitsCurrency } from './amounts.ts';
import { badRequest, notFound } from './errors.ts';
import { postJson } from './http-out.ts';
import { decideJit, isRecord, type JitOutcome, response_codes } from './jit-decision.ts';
import { type Merchant, merchants, pickMerchant, pickPos } from './merchants.ts';
import {
  type ActivityKind,
  actionable_kinds,
  activity_methods,
  buildTransactionMessage,
  networks,
} from './message.ts';
import type { ResolvedOptions, SimFaults } from './options.ts';
import type { SeededRandom } from './random.ts';
import type {
  CardObject,
  FundingSourceObject,
  SimState,
  TransactionContext,
  TransactionRecord,
} from './state.ts';
import type { WebhookDispatcher } from './webhook-dispatcher.ts';

export interface MerchantRequest {
  readonly mid?: string;
  readonly currency_code?: string;
  readonly network?: string;
  readonly card_acceptor?: {
    readonly mcc?: string;
    readonly name?: string;
    readonly country_code?: string;
    readonly city?: string;
    readonly state?: string;
    readonly postal_code?: string;
  };
}

export interface AuthorizationRequest extends MerchantRequest {
  readonly card_token: string;
  readonly amount: Amount;
  readonly is_pre_auth?: boolean;
}

export interface FollowUpRequest {
  readonly original_transaction_token: string;
  readonly amount?: Amount;
}

export interface RefundRequest extends MerchantRequest {
  readonly card_token?: string;
  readonly original_transaction_token?: string;
  readonly amount: Amount;
}

export interface BalanceInquiryRequest extends MerchantRequest {
  readonly card_token: string;
}

export interface ActivityDeps {
  readonly state: SimState;
  readonly options: ResolvedOptions;
  readonly random: SeededRandom;
  readonly http: Dispatcher;
  readonly dispatcher: WebhookDispatcher;
  readonly logger: Logger;
  readonly faults: () => SimFaults;
}

interface RunSpec {
  readonly kind: ActivityKind;
  readonly card: CardObject;
  readonly amount: Amount;
  readonly currency_code: string;
  readonly context: TransactionContext;
  readonly is_preauthorization?: boolean;
  readonly original?: TransactionRecord;
}

const max_gateway_answer_bytes = 64 * 1024;

// What a card does at merchants: each activity becomes a transaction message, goes to the
// JIT gateway, is decided as Marqeta decides, is recorded and then announced by webhook.
export class CardActivity {
  readonly #deps: ActivityDeps;

  constructor(deps: ActivityDeps) {
    this.#deps = deps;
  }

  authorize(request: AuthorizationRequest): Promise<TransactionRecord> {
    const card = this.#card(request.card_token);
    const { context, currency_code } = this.#context(request, request.amount);
    return this.#run({
      kind: 'authorization',
      card,
      amount: request.amount,
      currency_code,
      context,
      is_preauthorization: request.is_pre_auth === true,
    });
  }

  incremental(request: FollowUpRequest): Promise<TransactionRecord> {
    if (request.amount === undefined) throw badRequest('amount is required');
    return this.#followUp('incremental', request, request.amount);
  }

  clearing(request: FollowUpRequest): Promise<TransactionRecord> {
    if (request.amount === undefined) throw badRequest('amount is required');
    return this.#followUp('clearing', request, request.amount);
  }

  reversal(request: FollowUpRequest): Promise<TransactionRecord> {
    return this.#followUp('reversal', request, request.amount);
  }

  advice(request: FollowUpRequest): Promise<TransactionRecord> {
    return this.#followUp('advice', request, request.amount);
  }

  refund(request: RefundRequest): Promise<TransactionRecord> {
    if (request.original_transaction_token !== undefined) {
      const original = this.#original(request.original_transaction_token);
      checkAmount(request.amount, original.currency_code);
      const card = this.#card(original.card_token);
      const spec = { card, amount: request.amount, currency_code: original.currency_code };
      return this.#run({ ...spec, kind: 'refund', context: original.context, original });
    }
    if (request.card_token === undefined)
      throw badRequest('card_token or original_transaction_token is required');
    const card = this.#card(request.card_token);
    const { context, currency_code } = this.#context(request, request.amount);
    return this.#run({ kind: 'refund', card, amount: request.amount, currency_code, context });
  }

  balanceInquiry(request: BalanceInquiryRequest): Promise<TransactionRecord> {
    const card = this.#card(request.card_token);
    const { context, currency_code } = this.#context(request, 0, { allow_zero: true });
    return this.#run({ kind: 'balanceinquiry', card, amount: 0, currency_code, context });
  }

  #followUp(kind: ActivityKind, request: FollowUpRequest, amount: Amount | undefined) {
    const original = this.#original(request.original_transaction_token);
    if (!original.type.startsWith('authorization') || original.state === 'DECLINED') {
      throw badRequest(`original transaction ${original.token} is not an approved authorization`);
    }
    const final_amount = amount ?? original.amount;
    checkAmount(final_amount, original.currency_code);
    const card = this.#card(original.card_token);
    const spec = { card, amount: final_amount, currency_code: original.currency_code };
    return this.#run({ ...spec, kind, context: original.context, original });
  }

  #card(token: string): CardObject {
    const card = this.#deps.state.cards.get(token)?.object;
    if (card === undefined) throw notFound('card', token);
    return card;
  }

  #original(token: string): TransactionRecord {
    const original = this.#deps.state.transactions.get(token);
    if (original === undefined) throw notFound('transaction', token);
    return original;
  }

  // The merchant and terminal: what the request names, the rest drawn from the catalogue.
  #context(request: MerchantRequest, amount: Amount, rules: AmountRules = {}) {
    const { random, options } = this.#deps;
    const drawn = pickMerchant(random, (currency_code) => fitsCurrency(amount, currency_code, rules));
    if (drawn === undefined)
      throw badRequest(`amount ${String(amount)} fits no currency the simulator knows`);
    const given = request.card_acceptor ?? {};
    const merchant: Merchant = {
      ...drawn,
      ...definedOnly({ ...given, mid: request.mid }),
    };
    const currency_code =
      request.currency_code ??
      options.default_currency_code ??
      (given.country_code === undefined ? drawn.currency_code : currencyOfCountry(given.country_code));
    checkAmount(amount, currency_code, rules);
    const network = request.network ?? random.pick(networks);
    const context: TransactionContext = { merchant, pos: pickPos(random, merchant), network };
    return { context, currency_code };
  }

  async #run(spec: RunSpec): Promise<TransactionRecord> {
    const transaction_token = randomUUID();
    const jit_token = randomUUID();
    const source = this.#fundingSource(spec.card);
    const message = buildTransactionMessage(
      {
        ...spec,
        transaction_token,
        jit_token,
        funding_source_token: source?.token,
        is_preauthorization: spec.is_preauthorization ?? false,
      },
      this.#deps.random,
    );
    const outcome = await this.#decide(spec, source, message, jit_token);
    const record = this.#record(spec, message, outcome, { transaction_token, jit_token, source });
    this.#deps.state.rememberTransaction(record);
    this.#applyToOriginal(spec, record);
    this.#deps.logger.info(
      {
        transaction_token,
        type: record.type,
        state: record.state,
        response_code: outcome?.response_code,
        timed_out: outcome?.timed_out,
      },
      'simulated card activity',
    );
    this.#deps.dispatcher.enqueue({
      kind: 'transaction',
      name: `transaction.${record.type}`,
      token: record.token,
      payload: record.object,
    });
    return record;
  }

  #fundingSource(card: CardObject): FundingSourceObject | undefined {
    const product = this.#deps.state.card_products.get(card.card_product_token)?.object;
    const pgfs = jitConfig(product);
    if (pgfs === undefined) return undefined;
    const source = this.#deps.state.funding_sources.get(pgfs)?.object;
    return source?.active === true ? source : undefined;
  }

  // Undefined when the gateway was not involved and Marqeta decided alone.
  async #decide(
    spec: RunSpec,
    source: FundingSourceObject | undefined,
    message: Record<string, unknown>,
    jit_token: string,
  ): Promise<JitOutcome | PreDecision | undefined> {
    const actionable = actionable_kinds.has(spec.kind);
    if (actionable) {
      const refused = preDecline(spec.card, source);
      if (refused !== undefined) return refused;
    }
    if (source === undefined) return undefined;
    const result = await postJson(this.#deps.http, {
      url: source.url,
      username: source.basic_auth_username,
      password: source.basic_auth_password,
      ...(source.custom_header === undefined ? {} : { headers: source.custom_header }),
      body: JSON.stringify(message),
      timeout_ms: Math.min(source.timeout_millis, this.#deps.options.jit_timeout_ms),
      latency_ms: this.#deps.faults().jit_latency_ms,
      max_response_bytes: max_gateway_answer_bytes,
    });
    const gpa_order = message.gpa_order as Record<string, unknown>;
    const outcome = decideJit({ jit_token, order_number: String(gpa_order.token), result });
    this.#deps.state.recordGatewayLog({
      transaction_token: String(message.token),
      jit_token,
      method: activity_methods[spec.kind],
      gateway_log: outcome.gateway_log,
    });
    return outcome;
  }

  #record(
    spec: RunSpec,
    message: Record<string, unknown>,
    outcome: JitOutcome | PreDecision | undefined,
    ids: { transaction_token: string; jit_token: string; source: FundingSourceObject | undefined },
  ): TransactionRecord {
    const state = transactionState(spec.kind, outcome);
    const response = {
      code: actionable_kinds.has(spec.kind)
        ? (outcome?.response_code ?? response_codes.approved)
        : response_codes.approved,
      memo: actionable_kinds.has(spec.kind) ? (outcome?.memo ?? 'Approved') : 'Applied',
    };
    return {
      token: ids.transaction_token,
      type: String(message.type),
      jit_token: ids.jit_token,
      card_token: spec.card.token,
      user_token: spec.card.user_token,
      amount: spec.amount,
      currency_code: spec.currency_code,
      state,
      incremental_jit_tokens: [],
      context: spec.context,
      object: {
        ...message,
        state,
        response,
        gpa_order: finalGpaOrder(message, state, response, outcome, ids.source),
      },
    };
  }

  #applyToOriginal(spec: RunSpec, record: TransactionRecord): void {
    const original = spec.original;
    if (original === undefined) return;
    const next_state = { clearing: 'COMPLETION', reversal: 'CLEARED' }[spec.kind as string];
    if (next_state !== undefined) {
      original.state = next_state;
      original.object = { ...original.object, state: next_state };
    }
    if (spec.kind === 'incremental' && record.state !== 'DECLINED')
      original.incremental_jit_tokens.push(record.jit_token);
  }
}

interface PreDecision {
  readonly approved: false;
  readonly timed_out: false;
  readonly response_code: string;
  readonly memo: string;
}

// Marqeta declines before asking the gateway when the card cannot be used or nothing funds it.
function preDecline(card: CardObject, source: FundingSourceObject | undefined): PreDecision | undefined {
  const decline = (response_code: string, memo: string): PreDecision => ({
    approved: false,
    timed_out: false,
    response_code,
    memo,
  });
  if (card.state === 'SUSPENDED') return decline(response_codes.card_suspended, 'Card suspended');
  if (card.state !== 'ACTIVE') return decline(response_codes.card_not_active, 'Card not active');
  if (source === undefined)
    return decline(response_codes.insufficient_funds, 'No JIT funding source: GPA empty');
  return undefined;
}

const informative_states: Readonly<Record<string, string>> = {
  reversal: 'CLEARED',
  clearing: 'COMPLETION',
  refund: 'COMPLETION',
  advice: 'PENDING',
};

function transactionState(kind: ActivityKind, outcome: JitOutcome | PreDecision | undefined): string {
  const informative = informative_states[kind];
  if (informative !== undefined) return informative;
  if (outcome === undefined || !outcome.approved) return 'DECLINED';
  return kind === 'balanceinquiry' ? 'COMPLETION' : 'PENDING';
}

function finalGpaOrder(
  message: Record<string, unknown>,
  state: string,
  response: { code: string; memo: string },
  outcome: JitOutcome | PreDecision | undefined,
  source: FundingSourceObject | undefined,
): Record<string, unknown> {
  const gpa_order = message.gpa_order as Record<string, unknown>;
  const answer = outcome !== undefined && 'answer' in outcome ? outcome.answer : undefined;
  // Marqeta passes the gateway's reason, memo and tags on to the webhooks.
  const from_answer = isRecord(answer)
    ? definedOnly({
        decline_reason: answer.decline_reason,
        memo: answer.memo,
        tags: answer.tags,
        balances: answer.balances,
      })
    : {};
  return {
    ...gpa_order,
    state: state === 'DECLINED' ? 'DECLINED' : 'COMPLETION',
    response,
    jit_funding: { ...(gpa_order.jit_funding as Record<string, unknown>), ...from_answer },
    ...(source === undefined
      ? {}
      : {
          funding: {
            amount: gpa_order.amount,
            source: { token: source.token, type: 'programgateway', active: source.active, name: source.name },
            ...(outcome !== undefined && 'gateway_log' in outcome
              ? { gateway_log: outcome.gateway_log }
              : {}),
          },
        }),
  };
}

function jitConfig(product: Record<string, unknown> | undefined): string | undefined {
  const config = product?.config;
  if (!isRecord(config) || !isRecord(config.jit_funding)) return undefined;
  const pgfs = config.jit_funding.programgateway_funding_source;
  if (!isRecord(pgfs) || pgfs.enabled !== true || typeof pgfs.funding_source_token !== 'string')
    return undefined;
  return pgfs.funding_source_token;
}

function currencyOfCountry(country_code: string): string {
  const upper = country_code.toUpperCase();
  return merchants.find((merchant) => merchant.country_code === upper)?.currency_code ?? 'USD';
}

function definedOnly<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
