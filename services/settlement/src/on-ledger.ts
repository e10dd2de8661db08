import type { LedgerDependencies } from './handle-event.ts';
import type { Program } from './ledger-input.ts';

// Whether every one of event_ids is already filed on the program's ledger: business events by
// their id among transaction_events, personal ones in the history of their row (`row`, the
// authorization's JIT token).
export async function onLedger(
  deps: LedgerDependencies,
  program: Program,
  row: string,
  event_ids: readonly string[],
): Promise<boolean> {
  if (program === 'business') {
    const [found] = await deps.postgres.sql<{ n: number }[]>`
      select count(*)::int4 as n from transaction_events where event_id in ${deps.postgres.sql(event_ids)}`;
    return found?.n === new Set(event_ids).size;
  }
  const transaction = await deps.personal_store.getTransaction(row);
  const seen = new Set(transaction?.history.map((entry) => entry.event_id) ?? []);
  return event_ids.every((id) => seen.has(id));
}

// The state of the authorization `row`'s ledger row (its JIT token); null: no row yet.
export async function rowState(
  deps: LedgerDependencies,
  program: Program,
  row: string,
): Promise<string | null> {
  if (program === 'business') {
    const [found] = await deps.postgres.sql<{ state: string }[]>`
      select state from transactions where jit_token = ${row}`;
    return found?.state ?? null;
  }
  return (await deps.personal_store.getTransaction(row))?.state ?? null;
}
