import type { CardRecord, CardStateStore, HoldScripts, RecordSources } from '@afc/card-state';
import { readCardRecord } from '@afc/card-state';
import { classifyMethod, type Hold, windowStarts } from '@afc/domain';
import type { Sql } from '@afc/postgres';
import { reportedOnlyByMarqeta, type StoredContribution } from '../ledger.ts';

export interface RebuildDependencies {
  readonly sql: Sql;
  readonly cards: CardStateStore;
  readonly holds: HoldScripts;
}

export interface RebuildReport {
  cards: number;
  // Written now; the rest were already there (as new or newer): a second run writes nothing.
  readonly written: { card: number; controls: number; cardholder: number; counters: number };
  // not_held: rows whose authorization only Marqeta reported (never counted by the authorizer).
  readonly holds: { open: number; restored: number; not_held: number };
}

// Business cards only live in PostgreSQL. readCardRecord asks both programs at once; the card
// is found in PostgreSQL, and this store's refusal is then set aside.
const no_personal_store = new Proxy({} as RecordSources['personal_store'], {
  get() {
    throw new Error('rebuild-redis reads business cards from PostgreSQL only');
  },
});

async function rebuildCard(
  deps: RebuildDependencies,
  card_token: string,
  now_ms: number,
  report: RebuildReport,
) {
  const record = await readCardRecord(
    { sql: deps.sql, personal_store: no_personal_store },
    card_token,
    now_ms,
  );
  if (record === undefined) return;
  await writeCounted(deps.cards, record, report.written);
}

// writeCardRecord's writes, each counted when it wrote (the reports say what Redis lacked).
// A balance only where the record has one (a personal card's wallet; a business card has none).
export async function writeCounted(
  cards: CardStateStore,
  record: CardRecord,
  written: { card: number; controls: number; cardholder: number; counters: number; balance?: number },
): Promise<void> {
  const { card, controls, cardholder, counters, balance } = record;
  const [a, b, c, d, e] = await Promise.all([
    cards.writeCard(card),
    cards.writeControls(card.user_token, card.card_token, controls),
    cards.writeCardholder(cardholder),
    // Only where Redis has none: live counting is never overwritten (reconcile repairs it).
    cards.writeCounters(card.user_token, card.card_token, counters),
    balance === undefined
      ? false
      : cards.writeBalance(
          card.user_token,
          { available_minor: balance.available_minor, held_minor: balance.held_minor },
          balance.wallet_version,
        ),
  ]);
  written.card += Number(a.written);
  written.controls += Number(b.written);
  written.cardholder += Number(c.written);
  written.counters += Number(d);
  if (written.balance !== undefined) written.balance += Number(e);
}

export interface OpenRow {
  readonly jit_token: string;
  readonly method: string;
  readonly card_token: string;
  readonly user_token: string;
  readonly authorized_minor: number;
  readonly cleared_minor: number;
  readonly reversed_minor: number;
  readonly created_at: Date;
}

// The hold as the scripts keep it, from its ledger row. What the row cannot say, the rebuild
// decides: everything still held is counted in the windows of the authorization (incrementals
// on later days are folded into it), and its count stays only while nothing was captured.
export function holdOfRow(row: OpenRow, program: Hold['program'] = 'business'): Hold {
  const held = row.authorized_minor - row.cleared_minor - row.reversed_minor;
  const starts = windowStarts(row.created_at.getTime());
  return {
    jit_token: row.jit_token,
    card_token: row.card_token,
    user_token: row.user_token,
    program,
    amount_minor: held,
    authorized_minor: row.authorized_minor,
    released_minor: row.reversed_minor,
    captured_minor: row.cleared_minor,
    on_expiry: classifyMethod(row.method).single_message ? 'capture' : 'release',
    counted: [
      {
        day_start: starts.day,
        week_start: starts.week,
        month_start: starts.month,
        amount_minor: held,
        count: row.cleared_minor === 0 ? 1 : 0,
      },
    ],
  };
}

async function rebuildHolds(deps: RebuildDependencies, batch: number, report: RebuildReport) {
  let after = '';
  for (;;) {
    const rows = await deps.sql<(OpenRow & { events: StoredContribution[] })[]>`
      select t.jit_token, t.method, c.card_token, u.user_token, t.authorized_minor, t.cleared_minor,
             t.reversed_minor, t.created_at,
             (select coalesce(json_agg(json_build_object('event_id', e.event_id, 'contribution', e.details)), '[]')
              from transaction_events e where e.transaction_id = t.id) as events
      from transactions t join cards c on c.id = t.card_id join users u on u.id = t.user_id
      where t.state in ('pending', 'partially_cleared')
        and t.authorized_minor > t.cleared_minor + t.reversed_minor and t.jit_token > ${after}
      order by t.jit_token limit ${batch}`;
    if (rows.length === 0) return;
    after = rows[rows.length - 1]?.jit_token ?? after;
    for (const row of rows) {
      report.holds.open += 1;
      if (reportedOnlyByMarqeta(row.events)) report.holds.not_held += 1;
      else if (await deps.holds.restoreHold(holdOfRow(row))) report.holds.restored += 1;
    }
  }
}

// Rebuilds the real-time state of every business card (card, controls, cardholder, counters)
// and every open hold from the data of record, in batches. Idempotent: documents are versioned,
// counters and holds are written only where Redis has none, so a second run, or a run beside
// a live authorizer, changes nothing that is live.
export async function rebuildRedis(
  deps: RebuildDependencies,
  options: { readonly batch: number; readonly now_ms: number },
): Promise<RebuildReport> {
  const report: RebuildReport = {
    cards: 0,
    written: { card: 0, controls: 0, cardholder: 0, counters: 0 },
    holds: { open: 0, restored: 0, not_held: 0 },
  };
  let after = '';
  for (;;) {
    const batch = await deps.sql<{ card_token: string }[]>`
      select card_token from cards where card_token > ${after} order by card_token limit ${options.batch}`;
    if (batch.length === 0) break;
    after = batch[batch.length - 1]?.card_token ?? after;
    for (const { card_token } of batch) {
      report.cards += 1;
      await rebuildCard(deps, card_token, options.now_ms, report);
    }
  }
  await rebuildHolds(deps, options.batch, report);
  return report;
}
