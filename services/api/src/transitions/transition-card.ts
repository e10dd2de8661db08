import { refreshCardRecord } from '@afc/card-state';
import type { Service } from '@afc/service-kit';
import type { RouteContext } from '../app.ts';
import {
  type LifecycleEntry,
  recordLifecycleEvent,
  transition_type_of,
  transitionEventId,
} from '../lifecycle/card-lifecycle.ts';
import {
  isTransitionState,
  local_state_of,
  type TransitionState,
  transitionAtMarqeta,
  transitionCheck,
} from './card-transitions.ts';

type LocalCardState = (typeof local_state_of)[TransitionState];

export interface TransitionRequest {
  readonly state: TransitionState;
  readonly reason: string;
}

export type TransitionOutcome =
  | { readonly kind: 'not_found' }
  | { readonly kind: 'illegal'; readonly from: string }
  // Another transition (at Marqeta) moved the card while this one was made; `now` is Marqeta's.
  | { readonly kind: 'moved'; readonly from: string; readonly now: string }
  | { readonly kind: 'done'; readonly card_token: string; readonly from: string; readonly changed: boolean };

// The card as the data of record holds it now, into Redis (versioned: never regresses).
export async function writeThrough(app: Service, context: RouteContext, card_token: string): Promise<void> {
  const sources = { sql: app.postgres.sql, personal_store: app.personalStore };
  const written = await refreshCardRecord(sources, context.card_state, card_token, Date.now());
  if (!written) throw new Error('card vanished between write and read-back');
}

// How a transition ends, for both programs, once Marqeta accepted it. The card's version (the
// business row's, or the personal card's updated_at) was read before the Marqeta call; the
// webhooks consumer moves it for every newer Marqeta transition it records, even one that leaves
// the state as it is. So:
//   - still at that version: nothing happened meanwhile, ours is written;
//   - moved, and in our target state: ours stands (Marqeta's webhook of it may be the move);
//   - moved to another state: only Marqeta knows which came last. Its card decides, written
//     only if nothing moved the card again in between, and never out of terminated (final).
// The lifecycle history records ours in every case: Marqeta made it.
interface Fence {
  readonly written: boolean;
  // The version the card was seen at when ours was not written.
  readonly seen_version: number;
}

function historyEntry(
  program: 'business' | 'personal',
  card: { readonly user_token: string; readonly state: string },
  card_token: string,
  request: TransitionRequest,
  from_version: number,
): LifecycleEntry {
  return {
    event_id: transitionEventId(card_token, from_version, request.state),
    program,
    card_token,
    user_token: card.user_token,
    type: transition_type_of[request.state],
    reason: request.reason,
    details: { from_state: card.state },
  };
}

function fenced(now: { state: string; version: number }, from_version: number, target: string): boolean {
  return now.version === from_version || now.state === target;
}

function outcomeAtMarqeta(
  at_marqeta: string,
  card_token: string,
  from: string,
  target: TransitionState,
): TransitionOutcome {
  if (at_marqeta === target) return { kind: 'done', card_token, from, changed: true };
  return {
    kind: 'moved',
    from,
    now: isTransitionState(at_marqeta) ? local_state_of[at_marqeta] : at_marqeta,
  };
}

// Business cards: the row, its history and the fence in one short transaction after Marqeta
// answered (no connection is held across the Marqeta call).
export async function transitionBusinessCard(
  app: Service,
  context: RouteContext,
  card_token: string,
  request: TransitionRequest,
): Promise<TransitionOutcome> {
  const sql = app.postgres.sql;
  const [card] = await sql<{ user_token: string; state: string; version: number }[]>`
    select u.user_token, c.state, c.version from cards c join users u on u.id = c.user_id
    where c.card_token = ${card_token}`;
  if (card === undefined) return { kind: 'not_found' };
  const check = transitionCheck(card.state, request.state);
  if (check === 'illegal') return { kind: 'illegal', from: card.state };
  let outcome: TransitionOutcome = { kind: 'done', card_token, from: card.state, changed: check === 'move' };
  if (check === 'move') {
    const from_version = Number(card.version);
    await transitionAtMarqeta(context.marqeta, { card_token, from_version, ...request });
    const target = local_state_of[request.state];
    const fence = await sql.begin(async (tx): Promise<Fence> => {
      const [now] = await tx<{ state: string; version: number }[]>`
        select state, version from cards where card_token = ${card_token} for update`;
      if (now === undefined) throw new Error('card vanished during its transition');
      await recordLifecycleEvent(tx, historyEntry('business', card, card_token, request, from_version));
      const seen = { state: now.state, version: Number(now.version) };
      if (!fenced(seen, from_version, target)) return { written: false, seen_version: seen.version };
      if (seen.state !== target) {
        await tx`update cards set state = ${target}, version = version + 1, updated_at = now()
          where card_token = ${card_token}`;
      }
      return { written: true, seen_version: seen.version };
    });
    if (!fence.written) {
      outcome = await settleFromMarqeta(context, card_token, card.state, request, async (state) => {
        await sql`update cards set state = ${state}, version = version + 1, updated_at = now()
          where card_token = ${card_token} and version = ${fence.seen_version}
            and state <> ${state} and state <> 'terminated'`;
      });
    }
  }
  // Also when already there: a retry heals a write-through the first attempt did not finish.
  await writeThrough(app, context, card_token);
  return outcome;
}

// The card moved to another state meanwhile: Marqeta's card decides, written by `write` (which
// writes only if the card did not move again since `fence.seen_version`, never out of
// terminated); a state no transition sets is left to the webhooks.
async function settleFromMarqeta(
  context: RouteContext,
  card_token: string,
  from: string,
  request: TransitionRequest,
  write: (state: LocalCardState) => Promise<void>,
): Promise<TransitionOutcome> {
  const at_marqeta = String((await context.marqeta.getCard(card_token)).state);
  if (isTransitionState(at_marqeta)) await write(local_state_of[at_marqeta]);
  return outcomeAtMarqeta(at_marqeta, card_token, from, request.state);
}

// Personal cards: the store's own compare-and-set on updated_at fences each write, so no
// PostgreSQL transaction or lock is held while the store (on the same pool, for the PostgreSQL
// twin) works.
export async function transitionPersonalCard(
  app: Service,
  context: RouteContext,
  card_token: string,
  request: TransitionRequest,
): Promise<TransitionOutcome> {
  const store = app.personalStore;
  const card = await store.getCard(card_token);
  if (card === null) return { kind: 'not_found' };
  const check = transitionCheck(card.state, request.state);
  if (check === 'illegal') return { kind: 'illegal', from: card.state };
  let outcome: TransitionOutcome = { kind: 'done', card_token, from: card.state, changed: check === 'move' };
  if (check === 'move') {
    const from_version = card.updated_at.getTime();
    await transitionAtMarqeta(context.marqeta, { card_token, from_version, ...request });
    await recordLifecycleEvent(
      app.postgres.sql,
      historyEntry('personal', card, card_token, request, from_version),
    );
    const target = local_state_of[request.state];
    const written = await store.setCardStateIfUnchanged(card_token, target, card.updated_at);
    const seen = written.card;
    if (!written.changed && seen.state !== target) {
      outcome = await settleFromMarqeta(context, card_token, card.state, request, async (state) => {
        // Refused (nothing written) if the card moved again, or out of terminated.
        if (seen.state !== state) await store.setCardStateIfUnchanged(card_token, state, seen.updated_at);
      });
    }
  }
  await writeThrough(app, context, card_token);
  return outcome;
}
