import type { PersonalStore } from '@afc/personal-store';
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

// A person with a funded wallet and an active card, as the control plane records them.
export async function seedPersonalCard(store: PersonalStore, funded_minor: number): Promise<Card> {
  const user_token = nextToken('puser');
  const card_token = nextToken('pcard');
  await store.createUser({
    user_token,
    email: 'person@example.com',
    wallet_address: '0x52908400098527886E0F7030069857D2E4169EE7',
    currency: 'USD',
    kyc_status: 'verified',
  });
  await store.creditDeposit({
    deposit_id: nextToken('dep'),
    user_token,
    crypto_currency: 'USDC',
    crypto_amount: String(funded_minor / 100),
    rate: '1',
    credited_minor: funded_minor,
    currency: 'USD',
  });
  await store.createCard({
    card_token,
    user_token,
    state: 'active',
    currency: 'USD',
    expiration_month: 12,
    expiration_year: 2030,
    last_four: '4242',
  });
  return { card_token, user_token };
}

// The personal ledger and wallets as settlement leaves them, without what depends on arrival
// (recording times, the per-event state after it, sequence numbers).
export async function personalSnapshot(sql: Sql) {
  const transactions = await sql`
    select jit_token, card_token, user_token, currency, state, state_at, requested_minor,
      authorized_minor, cleared_minor, reversed_minor, refunded_minor, decline_reason, memo, method,
      network, marqeta_transaction_token, original_jit_token, merchant_mid, merchant_name,
      merchant_mcc, merchant_country_code, created_at, expires_at
    from personal.transactions order by jit_token`;
  const events = await sql`
    select event_id, jit_token, occurred_at, kind, amount_minor, authorized_minor, cleared_minor,
      reversed_minor, refunded_minor, details
    from personal.transaction_events order by event_id`;
  const wallets = await sql`
    select user_token, available_minor, held_minor, available_shortfall_minor, held_shortfall_minor
    from personal.wallets order by user_token`;
  return { transactions: [...transactions], events: [...events], wallets: [...wallets] };
}

// Back to the seeded wallets (funded, nothing held) and an empty personal ledger.
export async function emptyPersonalLedger(sql: Sql, funded_minor: number): Promise<void> {
  await sql`truncate personal.transaction_events, personal.transactions`;
  await sql`
    update personal.wallets set available_minor = ${funded_minor}, held_minor = 0,
      available_shortfall_minor = 0, held_shortfall_minor = 0`;
}
