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

export interface RowEvent {
  readonly event_id: string;
  // The effect the event describes (its contribution's), else its event id (rows from before
  // contributions named one).
  readonly effect: string;
}

// The events already filed on the row of the authorization `row` (its JIT token).
export async function eventsOnRow(
  deps: LedgerDependencies,
  program: Program,
  row: string,
): Promise<RowEvent[]> {
  if (program === 'business') {
    return deps.postgres.sql<RowEvent[]>`
      select e.event_id, coalesce(e.details->>'effect', e.event_id) as effect
      from transaction_events e join transactions t on t.id = e.transaction_id
      where t.jit_token = ${row}`;
  }
  const transaction = await deps.personal_store.getTransaction(row);
  return (transaction?.history ?? []).map((entry) => {
    const effect = entry.details?.effect;
    return { event_id: entry.event_id, effect: typeof effect === 'string' ? effect : entry.event_id };
  });
}
