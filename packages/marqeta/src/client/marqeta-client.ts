import assert from 'node:assert/strict';
import { type Logger, redactUrl } from '@afc/log';
import { Gauge, type Registry } from 'prom-client';
import { type Dispatcher, Pool } from 'undici';
import { MarqetaToken } from '../schemas/common.ts';
import {
  type CallOutcome,
  CircuitBreaker,
  type CircuitState,
  type CircuitStateChange,
} from './circuit-breaker.ts';
import {
  type MarqetaCallInfo,
  MarqetaCircuitOpenError,
  MarqetaError,
  MarqetaHttpError,
  marqeta_error_codes,
} from './errors.ts';
import {
  type MarqetaClientOptions,
  type MarqetaClock,
  type ResolvedClientOptions,
  resolveClientOptions,
  system_clock,
} from './options.ts';
import { retryDelayMs } from './retry.ts';
import {
  Card,
  CardProduct,
  CardTransition,
  type Checker,
  CreateCardProductRequest,
  CreateCardRequest,
  CreateCardTransitionRequest,
  CreateProgramGatewayFundingSourceRequest,
  CreateUserRequest,
  CreateUserTransitionRequest,
  CreateWebhookRequest,
  compileChecker,
  ProgramGatewayFundingSource,
  UpdateUserRequest,
  User,
  UserTransition,
  Webhook,
} from './schemas.ts';
import { attempt } from './transport.ts';
import { judge } from './verdict.ts';

const checkers = {
  create_user: compileChecker(CreateUserRequest),
  update_user: compileChecker(UpdateUserRequest),
  user: compileChecker(User),
  create_user_transition: compileChecker(CreateUserTransitionRequest),
  user_transition: compileChecker(UserTransition),
  create_card_product: compileChecker(CreateCardProductRequest),
  card_product: compileChecker(CardProduct),
  create_card: compileChecker(CreateCardRequest),
  card: compileChecker(Card),
  create_card_transition: compileChecker(CreateCardTransitionRequest),
  card_transition: compileChecker(CardTransition),
  create_funding_source: compileChecker(CreateProgramGatewayFundingSourceRequest),
  funding_source: compileChecker(ProgramGatewayFundingSource),
  create_webhook: compileChecker(CreateWebhookRequest),
  webhook: compileChecker(Webhook),
  token: compileChecker(MarqetaToken),
};

type Method = 'GET' | 'POST' | 'PUT';

interface Call<T> {
  readonly method: Method;
  // Below the base path, e.g. /users/u-1.
  readonly path: string;
  readonly body?: { readonly value: unknown; readonly checker: Checker<unknown> };
  readonly answer: Checker<T>;
}

// The Marqeta Core API, as the card issuer uses it. Every create carries a token we chose: a
// repeat of the same create (ours after a lost answer, or a caller's) is applied once and
// answers the same object with 201 or 200, which is what makes retrying a POST safe. The same
// token with different content answers 409 and is not retried.
export class MarqetaClient {
  readonly #options: ResolvedClientOptions;
  readonly #dispatcher: Dispatcher;
  readonly #owns_dispatcher: boolean;
  // Built once; kept private so that no log line or inspection of the client shows it.
  readonly #authorization: string;
  readonly #logger: Logger;
  readonly #clock: MarqetaClock;
  readonly #random: () => number;
  readonly #breaker: CircuitBreaker;

  constructor(options: MarqetaClientOptions) {
    this.#options = resolveClientOptions(options);
    const credentials = `${options.application_token}:${options.admin_access_token}`;
    this.#authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
    this.#logger = options.logger.child({
      component: 'marqeta-client',
      origin: redactUrl(this.#options.origin),
    });
    this.#clock = options.clock ?? system_clock;
    this.#random = options.random ?? Math.random;
    this.#owns_dispatcher = options.dispatcher === undefined;
    this.#dispatcher = options.dispatcher ?? createPool(this.#options);
    const onChange = stateChangeListener(this.#logger, this.#options.origin, options);
    this.#breaker = new CircuitBreaker(this.#options.breaker, () => this.#clock.now(), onChange);
  }

  // The longest one call may take, retries included: every attempt's request timeout and the
  // longest delay between them. For callers that hold a lock or a lease across a call.
  get longest_call_ms(): number {
    const { retry, request_timeout_ms } = this.#options;
    return retry.max_attempts * request_timeout_ms + (retry.max_attempts - 1) * retry.max_delay_ms;
  }

  get circuit_state(): CircuitState {
    return this.#breaker.state;
  }

  async createUser(request: CreateUserRequest): Promise<User> {
    return this.#send({
      method: 'POST',
      path: '/users',
      body: body(request, checkers.create_user),
      answer: checkers.user,
    });
  }

  async getUser(token: string): Promise<User> {
    return this.#send({ method: 'GET', path: `/users/${pathToken(token)}`, answer: checkers.user });
  }

  // A PUT sets the same fields again when repeated: safe to retry.
  async updateUser(token: string, changes: UpdateUserRequest): Promise<User> {
    const path = `/users/${pathToken(token)}`;
    return this.#send({
      method: 'PUT',
      path,
      body: body(changes, checkers.update_user),
      answer: checkers.user,
    });
  }

  async createUserTransition(request: CreateUserTransitionRequest): Promise<UserTransition> {
    const input = body(request, checkers.create_user_transition);
    return this.#send({
      method: 'POST',
      path: '/usertransitions',
      body: input,
      answer: checkers.user_transition,
    });
  }

  async createCardProduct(request: CreateCardProductRequest): Promise<CardProduct> {
    const input = body(request, checkers.create_card_product);
    return this.#send({ method: 'POST', path: '/cardproducts', body: input, answer: checkers.card_product });
  }

  // Never asks for the PAN or CVV (no show_pan / show_cvv_number).
  async createCard(request: CreateCardRequest): Promise<Card> {
    return this.#send({
      method: 'POST',
      path: '/cards',
      body: body(request, checkers.create_card),
      answer: checkers.card,
    });
  }

  async getCard(token: string): Promise<Card> {
    return this.#send({ method: 'GET', path: `/cards/${pathToken(token)}`, answer: checkers.card });
  }

  async createCardTransition(request: CreateCardTransitionRequest): Promise<CardTransition> {
    const input = body(request, checkers.create_card_transition);
    return this.#send({
      method: 'POST',
      path: '/cardtransitions',
      body: input,
      answer: checkers.card_transition,
    });
  }

  async createProgramGatewayFundingSource(
    request: CreateProgramGatewayFundingSourceRequest,
  ): Promise<ProgramGatewayFundingSource> {
    const input = body(request, checkers.create_funding_source);
    const path = '/fundingsources/programgateway';
    return this.#send({ method: 'POST', path, body: input, answer: checkers.funding_source });
  }

  async createWebhook(request: CreateWebhookRequest): Promise<Webhook> {
    const input = body(request, checkers.create_webhook);
    return this.#send({ method: 'POST', path: '/webhooks', body: input, answer: checkers.webhook });
  }

  // Closes the client's own pool (not a dispatcher it was given), after requests in flight.
  async close(): Promise<void> {
    if (this.#owns_dispatcher) await this.#dispatcher.close();
  }

  async #send<T>(call: Call<T>): Promise<T> {
    const admission = this.#breaker.admit();
    if (!admission.ok) {
      this.#logger.debug(
        { method: call.method, path: call.path, code: marqeta_error_codes.circuit_open },
        'refused',
      );
      throw new MarqetaCircuitOpenError(
        { method: call.method, path: call.path, attempts: 0 },
        admission.retry_in_ms,
      );
    }
    let outcome: CallOutcome = 'neutral';
    try {
      const value = await this.#withRetries(call);
      outcome = 'success';
      return value;
    } catch (error) {
      outcome = breakerOutcome(error);
      throw error;
    } finally {
      this.#breaker.record(admission.permit, outcome);
    }
  }

  // At most retry.max_attempts attempts; only timeouts, network failures, 429 and 5xx are tried
  // again, after an exponential, jittered delay (at least Retry-After, at most max_delay_ms).
  async #withRetries<T>(call: Call<T>): Promise<T> {
    const { retry } = this.#options;
    const payload = call.body === undefined ? undefined : JSON.stringify(call.body.value);
    const headers: Record<string, string> = {
      authorization: this.#authorization,
      accept: 'application/json',
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
    };
    for (let attempts = 1; ; attempts += 1) {
      const result = await attempt(this.#dispatcher, {
        origin: this.#options.origin,
        method: call.method,
        path: `${this.#options.base_path}${call.path}`,
        headers,
        body: payload,
        request_timeout_ms: this.#options.request_timeout_ms,
        max_response_bytes: this.#options.max_response_bytes,
      });
      const info: MarqetaCallInfo = { method: call.method, path: call.path, attempts };
      const verdict = judge(result, info, call.answer, this.#clock.now());
      if (verdict.ok) return verdict.value;
      const fields = { ...info, ...errorFields(verdict.error) };
      if (!verdict.retryable || attempts >= retry.max_attempts) {
        this.#logger[verdict.retryable ? 'warn' : 'debug'](fields, 'marqeta call failed');
        throw verdict.error;
      }
      const delay_ms = retryDelayMs(retry, attempts, this.#random, verdict.retry_after_ms);
      this.#logger.debug({ ...fields, delay_ms }, 'marqeta call retried');
      await this.#clock.sleep(delay_ms);
    }
  }
}

function createPool(options: ResolvedClientOptions): Pool {
  // Every undici default we rely on is spelled out: these bound every wait on Marqeta.
  return new Pool(options.origin, {
    connections: options.connections,
    pipelining: 1,
    connect: { timeout: options.connect_timeout_ms },
    headersTimeout: options.headers_timeout_ms,
    bodyTimeout: options.body_timeout_ms,
    keepAliveTimeout: options.keep_alive_timeout_ms,
    keepAliveMaxTimeout: options.keep_alive_max_timeout_ms,
    maxResponseSize: options.max_response_bytes,
    allowH2: false,
  });
}

// A request we build must fit Marqeta's rules as we know them: a misfit is our bug. Paths and
// rules only in the message: the body may hold passwords.
function body(value: unknown, checker: Checker<unknown>): { value: unknown; checker: Checker<unknown> } {
  assert.ok(checker.check(value), `invalid Marqeta request: ${checker.issues(value).join('; ')}`);
  return { value, checker };
}

function pathToken(token: string): string {
  assert.ok(checkers.token.check(token), 'invalid Marqeta token');
  return encodeURIComponent(token);
}

function breakerOutcome(error: unknown): CallOutcome {
  if (!(error instanceof MarqetaError)) return 'neutral';
  if (error.code === marqeta_error_codes.timeout || error.code === marqeta_error_codes.network)
    return 'failure';
  if (error instanceof MarqetaHttpError) {
    return error.status === 429 || error.status >= 500 ? 'failure' : 'success';
  }
  // An unusable answer came from a Marqeta that answers: not a sign of an outage.
  return 'neutral';
}

function errorFields(error: MarqetaError): Record<string, unknown> {
  if (error instanceof MarqetaHttpError) {
    return { code: error.code, status: error.status, error_code: error.error_code };
  }
  const cause = (error.cause as { code?: unknown } | undefined)?.code;
  return { code: error.code, ...(typeof cause === 'string' ? { cause_code: cause } : {}) };
}

const state_values: Readonly<Record<CircuitState, number>> = { closed: 0, half_open: 1, open: 2 };

// Logs every move of the breaker, sets the gauge, then tells the caller; a throwing listener
// must not break the call that moved the breaker.
function stateChangeListener(
  logger: Logger,
  origin: string,
  options: MarqetaClientOptions,
): (change: CircuitStateChange) => void {
  const gauge = options.metrics_registry === undefined ? undefined : circuitGauge(options.metrics_registry);
  gauge?.set({ origin }, state_values.closed);
  return (change) => {
    logger[change.to === 'open' ? 'warn' : 'info'](
      { from: change.from, to: change.to },
      'marqeta circuit moved',
    );
    gauge?.set({ origin }, state_values[change.to]);
    try {
      options.onStateChange?.(change);
    } catch (error) {
      logger.error({ err: error }, 'onStateChange listener threw');
    }
  };
}

const gauge_name = 'afc_marqeta_circuit_state';

function circuitGauge(registry: Registry): Gauge<'origin'> {
  const existing = registry.getSingleMetric(gauge_name);
  if (existing !== undefined) return existing as Gauge<'origin'>;
  return new Gauge({
    name: gauge_name,
    help: 'State of the Marqeta Core API circuit breaker: 0 closed, 1 half-open, 2 open',
    labelNames: ['origin'],
    registers: [registry],
  });
}
