import type { Sql } from '@afc/postgres';
import type { PersonalCard, PersonalOpenHold } from '../types.ts';
import { cardFromRow, openHoldFromRow } from './rows.ts';

const open_hold_columns = `jit_token, card_token, user_token, currency, state, method, authorized_minor,
  cleared_minor, reversed_minor, created_at, expires_at`;

// The states are literals, not parameters: the partial index personal_transactions_open_expiry_idx
// (migration 0009) matches only a predicate the planner can read in the statement itself.
export async function listExpiredOpenHolds(sql: Sql, now: Date, limit: number): Promise<PersonalOpenHold[]> {
  const rows = await sql`
    select ${sql.unsafe(open_hold_columns)} from personal.transactions
    where state in ('pending', 'partially_cleared') and expires_at <= ${now}
    order by expires_at, jit_token limit ${limit}`;
  return rows.map(openHoldFromRow);
}

// Through personal_transactions_open_token_idx (0009), literals for the same reason.
export async function listOpenHoldsAfter(
  sql: Sql,
  after: string,
  limit: number,
): Promise<PersonalOpenHold[]> {
  const rows = await sql`
    select ${sql.unsafe(open_hold_columns)} from personal.transactions
    where state in ('pending', 'partially_cleared') and jit_token > ${after}
    order by jit_token limit ${limit}`;
  return rows.map(openHoldFromRow);
}

export async function listCardsAfter(sql: Sql, after: string, limit: number): Promise<PersonalCard[]> {
  const rows = await sql`
    select * from personal.cards where card_token > ${after} order by card_token limit ${limit}`;
  return rows.map(cardFromRow);
}
