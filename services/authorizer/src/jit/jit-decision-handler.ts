import { randomUUID } from 'node:crypto';
import {
  type ApplyRequest,
  type CardStateStore,
  type DecideRequest,
  type DecideResult,
  type ReleaseMemo,
  type ReleaseRequest,
  service_decline_memos,
} from '@afc/card-state';
import { declineReasonOf } from '@afc/domain';
import { type Logger, logLimiter } from '@afc/log';
import type { DeclineReason } from '@afc/marqeta';
import { formatMinor } from '@afc/money';
import type { AuthorizerMetrics } from '../metrics.ts';
import type { JitHandler } from '../routes/jit-route.ts';
import type { StateLoader } from '../state/state-loader.ts';
import type { BackgroundRetries } from './background-retries.ts';
import { type JitAnswer, jitAnswer } from './jit-answer.ts';
import type { JitWork } from './jit-request.ts';
import { type DeadlineResult, withDeadline } from './with-deadline.ts';

export interface JitDecisionHandlerOptions {
  readonly card_state: CardStateStore;
  readonly loader: StateLoader;
  readonly metrics: AuthorizerMetrics;
  readonly releases: BackgroundRetries<ReleaseRequest>;
  // Informative messages Redis refused for a moment, applied again in the background.
  readonly applies: BackgroundRetries<ApplyRequest>;
  readonly decision_deadline_ms: number;
}

// Marqeta's list has no reason for "we could not decide": TRANSACTION_NOT_PERMITTED is the
// generic refusal; the memo carries what really happened.
const system_decline_reason: DeclineReason = 'TRANSACTION_NOT_PERMITTED';

type Decided = Extract<DecideResult, { status: 'decided' }>;
// A card outside the data of record, or another cardholder's: declined from the load's result
// with the reasons the script gives them, and nothing written (StateLoader 'answer').
const not_theirs_reasons = {
  card_not_found: declineReasonOf('card_not_found'),
  card_user_mismatch: service_decline_memos.card_user_mismatch,
} as const satisfies Record<string, DeclineReason>;
type NotTheirsMemo = keyof typeof not_theirs_reasons;
type Attempt =
  | { readonly decided: Decided }
  | { readonly not_theirs: NotTheirsMemo }
  | { readonly failed: 'system_error' };

// An outage fails every request the same way: one line per interval and kind of failure, with
// the count of those it stood for, not one per request (the line of a request that is logged
// keeps its request id and JIT token).
const failure_log_interval_ms = 1_000;

export class JitDecisionHandler implements JitHandler {
  readonly #options: JitDecisionHandlerOptions;
  readonly #failure_logs = {
    load_deadline: logLimiter(failure_log_interval_ms),
    decision_deadline: logLimiter(failure_log_interval_ms),
    decision_failed: logLimiter(failure_log_interval_ms),
    apply_later: logLimiter(failure_log_interval_ms),
  };

  constructor(options: JitDecisionHandlerOptions) {
    this.#options = options;
  }

  async handle(work: JitWork, received_at_ms: number, log: Logger): Promise<JitAnswer> {
    const answer = await this.#answer(work, received_at_ms, log);
    const outcome = answer.status === 200 ? 'approved' : 'declined';
    this.#options.metrics.decision_seconds.observe(
      { outcome, kind: work.info.kind },
      (Date.now() - received_at_ms) / 1000,
    );
    const declined = answer.body.jit_funding;
    if (answer.status === 402) {
      this.#options.metrics.declines.inc({
        decline_reason: declined.decline_reason ?? '',
        memo: declined.memo ?? '',
      });
    }
    return answer;
  }

  async #answer(work: JitWork, received_at_ms: number, log: Logger): Promise<JitAnswer> {
    switch (work.action) {
      case 'decide':
        return this.#decide(work, received_at_ms, log);
      case 'apply':
        return this.#apply(work, received_at_ms, log);
      case 'acknowledge':
        // A method Marqeta added since we wrote the table: answered as money in, and looked at.
        if (work.info.kind === 'unknown') {
          log.warn({ method: work.funding.method }, 'JIT method not known: acknowledged as money in');
        }
        return jitAnswer(work.funding, { approved: true, memo: 'acknowledged' });
      case 'decline':
        log.warn({ method: work.funding.method }, 'JIT method not supported: declined');
        return decline(work, system_decline_reason, 'method_not_supported');
    }
  }

  async #decide(work: JitWork, received_at_ms: number, log: Logger): Promise<JitAnswer> {
    if (!('minor' in work.amount)) {
      const unknown_currency = work.amount.code === 'AFC_MONEY_UNKNOWN_CURRENCY';
      return unknown_currency
        ? decline(work, 'TRANSACTION_NOT_PERMITTED', 'currency_unknown')
        : decline(work, 'INVALID_AMOUNT', 'amount_invalid');
    }
    const deadline_at_ms = received_at_ms + this.#options.decision_deadline_ms;
    // The script checks the deadline too: run late, it stores our timeout decline, never approves.
    const request = decideRequest(work, work.amount, received_at_ms, deadline_at_ms);
    const progress = { loading: false };
    const result = await withDeadline(this.#decideLoading(request, progress), deadline_at_ms);
    if (result.ok && 'decided' in result.value) return this.#verdict(work, result.value.decided);
    if (result.ok && 'not_theirs' in result.value) {
      const memo = result.value.not_theirs;
      return decline(work, not_theirs_reasons[memo], memo);
    }
    const memo = this.#failureMemo(result, progress.loading, request.jit_token, log);
    // Past the deadline or failed midway, the script may still have run (or run later): undo
    // by JIT token whatever it may have held, and store this decline for a replay to answer.
    // Keyed by request too: a resend of the token that also fails has its own release.
    this.#options.releases.schedule(`${request.jit_token}:${request.request_id}`, { ...request, memo });
    return decline(work, system_decline_reason, memo);
  }

  // Why the service declines a decision itself, logged once.
  #failureMemo(
    result: DeadlineResult<Attempt>,
    loading: boolean,
    jit_token: string,
    log: Logger,
  ): ReleaseMemo {
    // A deadline passed while the data of record was being read: it did not answer in time,
    // which for this decision is unreachable (system_error), not a slow Redis (timeout).
    const logs = this.#failure_logs;
    if (!result.ok && result.reason === 'timeout' && loading) {
      const suppressed = logs.load_deadline();
      if (suppressed !== undefined)
        log.error({ jit_token, suppressed }, 'data of record did not answer by the deadline: declined');
      return 'system_error';
    }
    if (!result.ok && result.reason === 'timeout') {
      const suppressed = logs.decision_deadline();
      if (suppressed !== undefined)
        log.warn({ jit_token, suppressed }, 'decision deadline passed: declined, hold released');
      return 'timeout';
    }
    if (!result.ok) {
      const suppressed = logs.decision_failed();
      if (suppressed !== undefined)
        log.error({ err: result.error, jit_token, suppressed }, 'decision failed');
    }
    return 'system_error';
  }

  // One script call; on a cache miss one load from the data of record and one more call.
  // progress.loading: the load is under way (read by the caller when the deadline passes).
  async #decideLoading(request: DecideRequest, progress: { loading: boolean }): Promise<Attempt> {
    const { card_state, loader, metrics } = this.#options;
    const first = await timed(metrics, 'script', () => card_state.decide(request));
    if (first.status === 'decided') {
      metrics.state_lookups.inc({ result: 'hit' });
      return { decided: first };
    }
    metrics.state_lookups.inc({ result: 'miss' });
    progress.loading = true;
    const loaded = await timed(metrics, 'state_load', () =>
      loader.load(request.user_token, request.card_token, request.now_ms, 'answer'),
    );
    progress.loading = false;
    if (loaded === 'busy') return { failed: 'system_error' };
    if (loaded === 'unknown') return { not_theirs: 'card_not_found' };
    if (loaded === 'another_cardholder') return { not_theirs: 'card_user_mismatch' };
    const second = await timed(metrics, 'script', () => card_state.decide(request));
    return second.status === 'decided' ? { decided: second } : { failed: 'system_error' };
  }

  #verdict(work: JitWork, decided: Decided): JitAnswer {
    if (decided.outcome === 'decline') return decline(work, decided.decline_reason, decided.memo);
    if (decided.outcome === 'approve') return jitAnswer(work.funding, { approved: true });
    // A balance inquiry, or a replay of any earlier answer: answer as stored.
    const stored = decided.stored;
    if (stored.outcome === 'decline') return decline(work, stored.decline_reason, stored.memo);
    if (stored.outcome === 'approve' || !('minor' in work.amount))
      return jitAnswer(work.funding, { approved: true });
    const currency = work.amount.currency;
    return jitAnswer(work.funding, {
      approved: true,
      memo: stored.memo,
      balance: {
        currency,
        available: formatMinor(stored.available_minor, currency),
        ledger: formatMinor(stored.ledger_minor, currency),
      },
    });
  }

  // Informative messages (reversal, clearing, refund, advice) are applied and always answered
  // 200: Marqeta has already done them. A failure here is repaired by settlement from the
  // webhook that follows, and by reconcile.
  async #apply(work: JitWork, received_at_ms: number, log: Logger): Promise<JitAnswer> {
    if (!('minor' in work.amount)) {
      log.warn(
        { jit_token: work.funding.token, code: work.amount.code },
        'informative JIT message with a bad amount',
      );
      return jitAnswer(work.funding, { approved: true, memo: 'amount_invalid' });
    }
    const request = applyRequest(work, work.amount, received_at_ms);
    const deadline_at_ms = received_at_ms + this.#options.decision_deadline_ms;
    const result = await withDeadline(this.#applyLoading(request), deadline_at_ms);
    if (result.ok) return jitAnswer(work.funding, { approved: true });
    // Idempotent by JIT token: applying it again later is safe, whether or not it ran.
    this.#options.applies.schedule(request.jit_token, request);
    const suppressed = this.#failure_logs.apply_later();
    if (suppressed !== undefined)
      log.warn(
        {
          err: result.reason === 'error' ? result.error : undefined,
          jit_token: request.jit_token,
          suppressed,
        },
        'informative JIT message not applied in Redis yet; retrying in the background',
      );
    return jitAnswer(work.funding, {
      approved: true,
      memo: result.reason === 'timeout' ? 'timeout' : 'system_error',
    });
  }

  // Also the background retry's work: resolves with the outcome label for the metric.
  async applyLoading(request: ApplyRequest): Promise<string> {
    await this.#applyLoading(request);
    return 'applied';
  }

  async #applyLoading(request: ApplyRequest): Promise<void> {
    const { card_state, loader, metrics } = this.#options;
    const first = await timed(metrics, 'script', () => card_state.apply(request));
    if (first.status !== 'missing') return;
    await timed(metrics, 'state_load', () =>
      loader.load(request.user_token, request.card_token, request.now_ms, 'remember'),
    );
    const second = await timed(metrics, 'script', () => card_state.apply(request));
    if (second.status === 'missing') throw new Error('card state still missing after a load');
  }
}

function decline(work: JitWork, decline_reason: DeclineReason, memo: string): JitAnswer {
  return jitAnswer(work.funding, { approved: false, decline_reason, memo });
}

async function timed<T>(metrics: AuthorizerMetrics, stage: string, work: () => Promise<T>): Promise<T> {
  const end = metrics.stage_seconds.startTimer({ stage });
  try {
    return await work();
  } finally {
    end();
  }
}

// The fields decide and apply share (card-state MessageFields, less the original token, whose
// use differs): one place, so the two requests cannot drift apart.
function messageFields(work: JitWork, amount: { minor: number; currency: string }, now_ms: number) {
  return {
    single_message: work.info.single_message,
    method: work.funding.method,
    jit_token: work.funding.token,
    card_token: work.card_token,
    user_token: work.user_token,
    amount_minor: amount.minor,
    currency: amount.currency,
    mcc: work.merchant.mcc,
    mid: work.merchant.mid,
    merchant_country: work.merchant.country,
    ...(work.merchant.name === undefined ? {} : { merchant_name: work.merchant.name }),
    ...(work.transaction_token === undefined ? {} : { transaction_token: work.transaction_token }),
    now_ms,
  };
}

function decideRequest(
  work: JitWork,
  amount: { minor: number; currency: string },
  now_ms: number,
  deadline_at_ms: number,
): DecideRequest {
  // Only an incremental belongs to an earlier hold. Passed for any other method, it would make
  // a timeout release look for (and release) that other authorization's hold.
  const original = work.info.kind === 'incremental' ? work.funding.original_jit_funding_token : undefined;
  return {
    ...messageFields(work, amount, now_ms),
    kind: work.info.kind as DecideRequest['kind'],
    ...(original === undefined ? {} : { original_jit_token: original }),
    ...(work.network === undefined ? {} : { network: work.network }),
    deadline_at_ms,
    request_id: randomUUID(),
  };
}

function applyRequest(
  work: JitWork,
  amount: { minor: number; currency: string },
  now_ms: number,
): ApplyRequest {
  const original = work.funding.original_jit_funding_token;
  return {
    ...messageFields(work, amount, now_ms),
    kind: work.info.kind as ApplyRequest['kind'],
    ...(original === undefined ? {} : { original_jit_token: original }),
  };
}
