import type { Sql } from '@afc/postgres';
import type { Card } from './events.ts';

let sequence = 0;
export function nextToken(prefix: string): string {
  sequence += 1;
  return `${prefix}-${process.pid}-${sequence}`;
}

// A company, an employee and an active card, as the control plane records them.
export async function seedBusinessCard(sql: Sql): Promise<Card & { card_id: string }> {
  const user_token = nextToken('user');
  const card_token = nextToken('card');
  return sql.begin(async (tx) => {
    const [company] = await tx<{ id: string }[]>`insert into companies (name) values ('Acme') returning id`;
    const [user] = await tx<{ id: string }[]>`
      insert into users (company_id, user_token, email, full_name)
      values (${company?.id ?? ''}, ${user_token}, ${`${user_token}@example.com`}, 'Ada Employee')
      returning id`;
    const [card] = await tx<{ id: string }[]>`
      insert into cards (card_token, company_id, user_id, card_product_token, currency_code)
      values (${card_token}, ${company?.id ?? ''}, ${user?.id ?? ''}, 'product-1', 'USD')
      returning id`;
    return { card_token, user_token, card_id: card?.id ?? '' };
  });
}

// Everything settlement writes, without what legitimately depends on arrival (ids, the time
// a row was written, and each history row's state_before/after: what we knew when it came).
export async function snapshot(sql: Sql) {
  const transactions = await sql`
    select jit_token, original_jit_token, card_id, method, state, currency_code, requested_minor,
      authorized_minor, cleared_minor, reversed_minor, refunded_minor, decline_reason, memo,
      merchant_mid, merchant_mcc, merchant_name, merchant_country, network, created_at, expires_at
    from transactions order by jit_token`;
  const events = await sql`
    select t.jit_token, e.event_id, e.kind, e.amount_minor, e.currency_code, e.occurred_at, e.details
    from transaction_events e join transactions t on t.id = e.transaction_id order by e.event_id`;
  const totals = await sql`
    select card_id, window_kind, window_start, currency_code, amount_minor, count
    from spending_totals order by card_id, window_kind, window_start`;
  return { transactions: [...transactions], events: [...events], totals: [...totals] };
}

// TRUNCATE fires no row triggers: the append-only tables can be emptied between runs.
export async function emptyLedger(sql: Sql): Promise<void> {
  await sql`truncate transaction_events, spending_total_deltas, spending_totals, transactions, processed_events`;
}
