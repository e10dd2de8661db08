import type { CardStateStore, HoldScripts } from '@afc/card-state';
import { readCardRecord } from '@afc/card-state';
import { max_scan_limit, type PersonalOpenHold, type PersonalStore } from '@afc/personal-store';
import type { Sql } from '@afc/postgres';
import { type Contribution, reportedOnlyByMarqeta } from '../ledger.ts';
import { holdOfRow, writeCounted } from './rebuild-redis.ts';

export interface PersonalRebuildDependencies {
  readonly sql: Sql;
  readonly cards: CardStateStore;
  readonly holds: HoldScripts;
  readonly personal_store: PersonalStore;
}

export interface PersonalRebuildReport {
  cards: number;
  // Written now; the rest were already there (as new or newer): a second run writes nothing.
  readonly written: { card: number; controls: number; cardholder: number; counters: number; balance: number };
  // not_held: rows whose authorization only Marqeta reported (the wallet never held them).
  readonly holds: { open: number; restored: number; not_held: number };
}

// A personal card as the authorizer's loader writes it (readCardRecord: card, open controls,
// cardholder, counters from zero, the wallet's available and held at its version), only where
// Redis lacks it. A cardholder's wallet is written once: with their first card.
async function rebuildCard(
  deps: PersonalRebuildDependencies,
  card_token: string,
  now_ms: number,
  report: PersonalRebuildReport,
) {
  const record = await readCardRecord(
    { sql: deps.sql, personal_store: deps.personal_store },
    card_token,
    now_ms,
  );
  if (record === undefined || record.card.program !== 'personal') return;
  await writeCounted(deps.cards, record, report.written);
}

// The wallet in the store holds what the authorizer's events moved (webhooks carry no balance
// delta): a row whose authorization only a webhook reported was never held, and restoring a
// hold for it would give back, on release, money the wallet never held.
async function heldByAuthorizer(store: PersonalStore, jit_token: string): Promise<boolean> {
  const row = await store.getTransaction(jit_token);
  const entries = (row?.history ?? []).flatMap((e) =>
    e.details === null ? [] : [{ event_id: e.event_id, contribution: e.details as unknown as Contribution }],
  );
  return entries.length > 0 && !reportedOnlyByMarqeta(entries);
}

async function rebuildHolds(deps: PersonalRebuildDependencies, batch: number, report: PersonalRebuildReport) {
  let after = '';
  for (;;) {
    const page: readonly PersonalOpenHold[] = await deps.personal_store.listOpenHoldsAfter(
      after,
      Math.min(batch, max_scan_limit),
    );
    if (page.length === 0) return;
    after = page[page.length - 1]?.jit_token ?? after;
    for (const open of page) {
      if (open.authorized_minor <= open.cleared_minor + open.reversed_minor) continue;
      report.holds.open += 1;
      if (!(await heldByAuthorizer(deps.personal_store, open.jit_token))) {
        report.holds.not_held += 1;
        continue;
      }
      const hold = holdOfRow({ ...open, method: open.method ?? 'pgfs.authorization' }, 'personal');
      if (await deps.holds.restoreHold(hold)) report.holds.restored += 1;
    }
  }
}

// Every personal card (with its cardholder and wallet) and every open personal hold, from the
// personal store, in bounded pages; written only where Redis lacks it (idempotent, safe beside a
// running authorizer). Cards first: a hold is restored into a wallet whose held already counts it.
export async function rebuildPersonal(
  deps: PersonalRebuildDependencies,
  options: { readonly batch: number; readonly now_ms: number },
): Promise<PersonalRebuildReport> {
  const report: PersonalRebuildReport = {
    cards: 0,
    written: { card: 0, controls: 0, cardholder: 0, counters: 0, balance: 0 },
    holds: { open: 0, restored: 0, not_held: 0 },
  };
  const page_size = Math.min(options.batch, max_scan_limit);
  let after = '';
  for (;;) {
    const page = await deps.personal_store.listCardsAfter(after, page_size);
    if (page.length === 0) break;
    after = page[page.length - 1]?.card_token ?? after;
    for (const card of page) {
      report.cards += 1;
      await rebuildCard(deps, card.card_token, options.now_ms, report);
    }
  }
  await rebuildHolds(deps, options.batch, report);
  return report;
}
