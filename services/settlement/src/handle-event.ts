import type { MessageContext, MessageHandler } from '@afc/amqp';
import { type CardStateStore, type MissingPiece, OutboxEvent } from '@afc/card-state';
import { classifyMethod } from '@afc/domain';
import type { Logger } from '@afc/log';
import type { PersonalStore } from '@afc/personal-store';
import type { PostgresClient } from '@afc/postgres';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { type RecordOutcome, recordBusinessEvent } from './business-ledger.ts';
import { loadCard, loadForRelease } from './decline-release.ts';
import { SettlementError } from './errors.ts';
import { inputOfEvent, inputOfWebhook, type LedgerInput, type Program } from './ledger-input.ts';
import { onLedger, rowState } from './on-ledger.ts';
import { recordPersonalEvent } from './personal-ledger.ts';
import { parseTransactionWebhook, type WebhookFacts } from './webhook-transaction.ts';

export type EventOutcome = RecordOutcome | 'unknown_card' | 'ignored';

export interface LedgerDependencies {
  readonly postgres: PostgresClient;
  readonly personal_store: PersonalStore;
  readonly hold_expiry_ms: number;
}

export interface HandlerDependencies extends LedgerDependencies {
  // Releases in Redis the holds Marqeta declined after we approved (gateway_log.timed_out, or
  // an answer Marqeta could not use); applies what only Marqeta reported.
  readonly card_state: CardStateStore;
  readonly on_outcome: (outcome: EventOutcome) => void;
}

// One effect on the ledger of its program, idempotent by input.event_id. Exported for the
// expiry sweep and the commands: an expiry is recorded through expiryInput + this function.
export async function recordLedgerInput(
  deps: LedgerDependencies,
  input: LedgerInput,
): Promise<RecordOutcome> {
  if (input.program === 'business') return recordBusinessEvent(deps.postgres, input, deps.hold_expiry_ms);
  return recordPersonalEvent(deps.personal_store, input, deps.hold_expiry_ms);
}

// Compiled once: Value.Check interprets the schema on every event.
const outbox_event = TypeCompiler.Compile(OutboxEvent);

function parseEvent(message_id: string, payload: unknown): OutboxEvent {
  if (!outbox_event.Check(payload)) {
    const first = outbox_event.Errors(payload).First();
    throw new SettlementError(
      'AFC_SETTLEMENT_INVALID_EVENT',
      `${message_id}: ${first?.path} ${first?.message}`,
    );
  }
  // The relay publishes event_id as the message id: anything else is not the authorizer's.
  if (payload.event_id !== message_id)
    throw new SettlementError('AFC_SETTLEMENT_INVALID_EVENT', `${message_id}: event_id differs`);
  return payload;
}

async function markProcessed(deps: LedgerDependencies, event_id: string): Promise<void> {
  await deps.postgres.sql`
    insert into processed_events (consumer, event_id) values ('settlement', ${event_id})
    on conflict do nothing`;
}

async function handleAuthorizerEvent(
  deps: HandlerDependencies,
  message: MessageContext,
): Promise<EventOutcome> {
  const event = parseEvent(message.message_id, message.payload);
  if (event.program === null) {
    // No card to hang a ledger row on: an informative message about a card Redis did not know,
    // or a decision declined timeout before its card was read (nothing moved).
    await markProcessed(deps, event.event_id);
    message.logger.info(
      { event: 'settlement.unknown_card', event_id: event.event_id },
      'no card: not in the ledger',
    );
    return 'unknown_card';
  }
  return recordLedgerInput(deps, inputOfEvent(event, event.program));
}

// The webhook names a card, not a program: business cards live in PostgreSQL, personal ones in
// the personal store. A card neither knows is retried, then parked (the control plane may not
// have committed it yet; if it never does, someone must look).
async function programOf(deps: LedgerDependencies, facts: WebhookFacts): Promise<Program> {
  const business = await deps.postgres.sql`select 1 from cards where card_token = ${facts.card_token}`;
  if (business.length > 0) return 'business';
  if ((await deps.personal_store.getCard(facts.card_token)) !== null) return 'personal';
  throw new SettlementError('AFC_SETTLEMENT_CARD_NOT_FOUND', `${facts.event_id}: card ${facts.card_token}`);
}

// The message fields card-state's scripts read, rebuilt from Marqeta's webhook (whose token is
// the transaction's token); one place for the release and the apply below.
function messageFields(facts: WebhookFacts) {
  const m = facts.contribution.merchant;
  return {
    method: facts.method,
    jit_token: facts.jit_token,
    ...(facts.original_jit_token === null ? {} : { original_jit_token: facts.original_jit_token }),
    card_token: facts.card_token,
    user_token: facts.user_token,
    currency: facts.currency,
    mcc: m.mcc ?? '',
    mid: m.mid ?? '',
    merchant_country: m.country ?? '',
    ...(m.name === undefined ? {} : { merchant_name: m.name }),
    transaction_token: facts.event_id,
  };
}

// Marqeta declined the message: if the gateway approved it (the answer came too late, or was
// unusable), make Redis agree through the authorizer's own release script, keyed by the JIT
// token, so a repeat (or the authorizer's own release) does nothing more: a decision that was a
// decline is left alone, a token never decided is stored declined. The release's
// authorization.timeout_released event reaches this ledger like any other authorizer event.
async function releaseDeclined(
  deps: HandlerDependencies,
  facts: WebhookFacts,
  program: Program,
  logger: Logger,
): Promise<void> {
  if (facts.kind !== 'authorization' && facts.kind !== 'incremental') return;
  const request = {
    ...messageFields(facts),
    now_ms: Date.now(),
    kind: facts.kind,
    amount_minor: facts.amount_minor,
    // Marqeta did not take our answer (late or unusable): for a replay, a timeout.
    memo: 'timeout' as const,
  };
  let result = await deps.card_state.releaseAfterTimeout(request);
  // Unlike an unreported informative message (applyUnreported), a decline cannot be left to the
  // loader: the approval it undoes stays held in Redis and counted in the books until released,
  // and an authorization's row ends declined, which the expiry sweep does not list. So the card
  // is loaded here, and a failure (or an approval the books do not count yet) is retried.
  if (result.status === 'missing') {
    const loaded = await loadForRelease(deps, facts, program);
    if (loaded !== 'loaded') throw releaseFailed(facts, loaded);
    result = await deps.card_state.releaseAfterTimeout(request);
    if (result.status === 'missing') throw releaseFailed(facts, JSON.stringify(result));
  }
  // owner_mismatch / mismatch: card-state logged it and changed nothing; the ledger still
  // records Marqeta's decline.
  logger.info(
    {
      event: 'settlement.decline_release',
      jit_token: facts.jit_token,
      timed_out: facts.timed_out,
      status: result.status,
      action: result.status === 'released' ? result.action : undefined,
    },
    'Marqeta declined: Redis agrees',
  );
}

// Retried, then parked.
function releaseFailed(facts: WebhookFacts, detail: string): SettlementError {
  return new SettlementError('AFC_SETTLEMENT_RELEASE_FAILED', `${facts.event_id}: ${detail}`);
}

const informative_kinds = new Set(['reversal', 'clearing', 'refund', 'advice']);

type ScriptResult = { status: 'missing'; missing: readonly MissingPiece[] } | { status: string };

// Runs a card-state script for what only Marqeta reported. Redis without the state it needs
// (load_when says which) is loaded as the authorizer's loader does (only where Redis has none)
// and the script runs once more; still missing fails the delivery (retried, then parked).
// card_not_found: the card is not in the data of record, or not the webhook user's.
async function runLoading<R extends ScriptResult>(
  deps: HandlerDependencies,
  facts: WebhookFacts,
  load_when: (missing: readonly MissingPiece[]) => boolean,
  run: () => Promise<R>,
): Promise<R | 'card_not_found'> {
  const first = await run();
  if (!('missing' in first) || !load_when(first.missing)) return first;
  if ((await loadCard(deps, facts)) === 'card_not_found') return 'card_not_found';
  const second = await run();
  if ('missing' in second)
    throw new SettlementError(
      'AFC_SETTLEMENT_STATE_NOT_LOADED',
      `${facts.event_id}: ${JSON.stringify(second)}`,
    );
  return second;
}

// A clearing, reversal, refund or advice the gateway never saw (Marqeta does not retry
// informative messages): applied to Redis by the authorizer's own apply script under the
// message's JIT token, so Redis and, through the event it emits (the id the authorizer would
// have used), the durable totals and wallet follow it. Keyed twice against applying what the
// authorizer already did: the script's marker (decision TTL, 8 days) and the ledger (an
// authorizer event for the effect, for webhooks that come later than that).
async function applyUnreported(
  deps: HandlerDependencies,
  facts: WebhookFacts,
  program: Program,
  logger: Logger,
) {
  // The authorizer's report of the same effect already on the ledger: nothing to apply.
  const effect = facts.contribution.effect;
  if (effect && (await onLedger(deps, program, facts.ledger_token, [effect]))) return;
  const request = {
    ...messageFields(facts),
    now_ms: facts.occurred_at_ms,
    kind: facts.kind as 'reversal' | 'clearing' | 'refund' | 'advice',
    single_message: classifyMethod(facts.method).single_message,
    amount_minor: facts.amount_minor,
  };
  // No card in Redis means no hold either (the script reads the card only without one): the
  // card is loaded, so the effect leaves its mark (a reversal's or a force post's hold, the
  // counts it moves) for the approval that may follow, and the books follow its event. Counters
  // or a wallet missing beside a hold are left to the loader: loaded from durable totals that may
  // not count the approval yet, a release would give back what they never had.
  const result = await runLoading(
    deps,
    facts,
    (missing) => missing.includes('card'),
    () => deps.card_state.apply(request),
  );
  // owner_mismatch is logged by card-state; like missing counters, it changes nothing.
  logger.info(
    {
      event: 'settlement.webhook_applied',
      jit_token: facts.jit_token,
      status: result === 'card_not_found' ? result : result.status,
    },
    'effect only Marqeta reported: applied to Redis',
  );
}

// An authorization Marqeta approved whose approval the books never had from the authorizer:
// lost with Redis before its event left the outbox, or approved by Marqeta's stand-in while
// the gateway was unreachable. Left alone, no hold and no count would stand for it: the card
// could spend its limit (or a wallet its balance) a second time. restoreApproval holds and
// counts it in Redis unless Redis knows the token, and reports it as the approval itself
// (`<jit>:authorization.approved`, the authorizer's own id for it): the durable totals and the
// wallet follow once whichever of the two reaches the ledger, and it supersedes this webhook's
// description on the row. Not restored: a row that is no longer open (a clearing, reversal or
// expiry already ended the purchase, and Redis may have lost its trace; see ADR 0009).
const open_states = new Set(['pending', 'partially_cleared']);

async function restoreUnreported(
  deps: HandlerDependencies,
  facts: WebhookFacts,
  program: Program,
  logger: Logger,
): Promise<void> {
  const approval = `${facts.jit_token}:authorization.approved`;
  if (await onLedger(deps, program, facts.ledger_token, [approval])) return;
  const state = await rowState(deps, program, facts.ledger_token);
  if (state !== null && !open_states.has(state)) {
    logger.info(
      { event: 'settlement.approval_restored', jit_token: facts.jit_token, status: 'row_ended', state },
      'approval not restored: the purchase has ended',
    );
    return;
  }
  const { original_jit_token: _, ...fields } = messageFields(facts);
  const request = {
    ...fields,
    now_ms: facts.occurred_at_ms,
    single_message: classifyMethod(facts.method).single_message,
    amount_minor: facts.amount_minor,
  };
  // The card's counters are loaded from durable totals that do not count this approval yet
  // (checked above): the restore adds it once.
  const result = await runLoading(
    deps,
    facts,
    () => true,
    () => deps.card_state.restoreApproval(request),
  );
  const status = result === 'card_not_found' ? result : result.status;
  // card_not_found here: the data of record has the card, but not as the webhook user's.
  logger[status === 'card_not_found' || status === 'owner_mismatch' ? 'warn' : 'info'](
    { event: 'settlement.approval_restored', jit_token: facts.jit_token, status },
    status === 'applied' ? 'approval only Marqeta reported: held and counted' : 'approval not restored',
  );
}

async function handleWebhook(deps: HandlerDependencies, message: MessageContext): Promise<EventOutcome> {
  const facts = parseTransactionWebhook(message.message_id, message.payload);
  if (facts === null) {
    await markProcessed(deps, message.message_id);
    return 'ignored';
  }
  const program = await programOf(deps, facts);
  // Redis first: if recording fails, the retry releases again (a no-op) and then records.
  if (facts.declined) await releaseDeclined(deps, facts, program, message.logger);
  else if (informative_kinds.has(facts.kind)) await applyUnreported(deps, facts, program, message.logger);
  const outcome = await recordLedgerInput(deps, inputOfWebhook(facts, program));
  // The restore after the record: the row, with Marqeta's approval on it, then says whether the
  // purchase is still open. A repeat (or a retry after a failed restore) records nothing and
  // restores again, which is a no-op once done.
  if (!facts.declined && facts.kind === 'authorization') {
    await restoreUnreported(deps, facts, program, message.logger);
  }
  return outcome;
}

function isWebhook(message: MessageContext): boolean {
  if (message.routing_key.startsWith('webhook.')) return true;
  const payload = message.payload as { received_at?: unknown; event?: unknown } | null;
  return typeof payload === 'object' && payload !== null && 'received_at' in payload && 'event' in payload;
}

// One message per delivery: an authorizer event (transactions exchange) or a Marqeta transaction
// webhook (events exchange, webhook.transactions). Idempotency is the ledger's own (unique
// event id in the same transaction as the effect), so the consumer needs no is_processed hooks.
export function createEventHandler(deps: HandlerDependencies): MessageHandler {
  return async (message) => {
    const source = isWebhook(message) ? 'webhook' : 'authorizer';
    const outcome =
      source === 'webhook' ? await handleWebhook(deps, message) : await handleAuthorizerEvent(deps, message);
    message.logger.info(
      { event: 'settlement.event', event_id: message.message_id, source, outcome },
      'settled',
    );
    deps.on_outcome(outcome);
  };
}
