import type { Sql, TransactionSql } from '@afc/postgres';
import type { Row } from 'postgres';
import { PersonalConflictError, PersonalNotFoundError } from '../errors.ts';
import type {
  AwaitingIssueCursor,
  CardIssueOutcome,
  CardState,
  CreateCardInput,
  CreateUserInput,
  IssuedCardDetails,
  PersonalCard,
  PersonalUser,
  UpdateUserInput,
} from '../types.ts';
import { max_cards_listed } from '../validate.ts';
import { cardFromRow, userFromRow } from './rows.ts';

// The user and their empty wallet in one transaction: a user never exists without a wallet.
export async function createUser(sql: Sql, at: Date, input: CreateUserInput): Promise<PersonalUser> {
  return sql.begin(async (tx) => {
    const [row] = await tx`
      insert into personal.users (user_token, email, kyc_status, wallet_address, status, created_at, updated_at)
      values (${input.user_token}, ${input.email}, ${input.kyc_status ?? 'pending'}, ${input.wallet_address},
              ${input.status ?? 'active'}, ${at}, ${at})
      on conflict (user_token) do nothing
      returning *`;
    if (row === undefined) throw new PersonalConflictError(`user ${input.user_token} exists`);
    await tx`
      insert into personal.wallets (user_token, currency, available_minor, held_minor, version, created_at, updated_at)
      values (${input.user_token}, ${input.currency}, 0, 0, 0, ${at}, ${at})`;
    return userFromRow(row);
  });
}

export async function getUser(sql: Sql, user_token: string): Promise<PersonalUser | null> {
  const [row] = await sql`select * from personal.users where user_token = ${user_token}`;
  return row === undefined ? null : userFromRow(row);
}

export async function updateUser(
  sql: Sql,
  at: Date,
  user_token: string,
  input: UpdateUserInput,
): Promise<PersonalUser> {
  const status = input.status ?? null;
  // One conditional statement: a closed user may not be reopened, whatever runs concurrently.
  // updated_at is the cardholder's version in Redis (read-card-record.ts), like a card's.
  const [row] = await sql`
    update personal.users
    set kyc_status = coalesce(${input.kyc_status ?? null}::text, kyc_status),
        status = coalesce(${status}::text, status),
        updated_at = ${nextVersion(sql, at)}
    where user_token = ${user_token}
      and (status <> 'closed' or ${status}::text is null or ${status}::text = 'closed')
    returning *`;
  if (row !== undefined) return userFromRow(row);
  const existing = await getUser(sql, user_token);
  if (existing === null) throw new PersonalNotFoundError(`no user ${user_token}`);
  throw new PersonalConflictError(`user ${user_token} is closed`);
}

// Also inside a caller's transaction (the api writes the card and its issue command together).
export async function createCard(
  sql: Sql | TransactionSql,
  at: Date,
  input: CreateCardInput,
): Promise<PersonalCard> {
  // Insert only if the user exists, in one statement, so that "no such user" and "token taken"
  // are told apart without a race.
  const [row] = await (sql as Sql)`
    insert into personal.cards (
      card_token, user_token, state, currency, expiration_month, expiration_year, last_four,
      card_product_token, created_at, updated_at
    )
    select ${input.card_token}, user_token, ${input.state}, ${input.currency}, ${input.expiration_month},
           ${input.expiration_year}, ${input.last_four}, ${input.card_product_token ?? null}, ${at}, ${at}
    from personal.users where user_token = ${input.user_token}
    on conflict (card_token) do nothing
    returning *`;
  if (row !== undefined) return cardFromRow(row);
  if ((await getUser(sql as Sql, input.user_token)) === null)
    throw new PersonalNotFoundError(`no user ${input.user_token}`);
  throw new PersonalConflictError(`card ${input.card_token} exists`);
}

export async function getCard(sql: Sql, card_token: string): Promise<PersonalCard | null> {
  const [row] = await sql`select * from personal.cards where card_token = ${card_token}`;
  return row === undefined ? null : cardFromRow(row);
}

export async function setCardState(
  sql: Sql,
  at: Date,
  card_token: string,
  state: CardState,
): Promise<PersonalCard> {
  // Terminated is final at Marqeta too: a terminated card is never brought back. Leaving 'failed'
  // (Marqeta says the card exists after all) drops the failure's reason.
  const [row] = await sql`
    update personal.cards set state = ${state}, failure_reason = null, updated_at = ${nextVersion(sql, at)}
    where card_token = ${card_token} and (state <> 'terminated' or ${state}::text = 'terminated')
    returning *`;
  if (row !== undefined) return cardFromRow(row);
  if ((await getCard(sql, card_token)) === null) throw new PersonalNotFoundError(`no card ${card_token}`);
  throw new PersonalConflictError(`card ${card_token} is terminated`);
}

// Only while the card is still the version the caller read (timestamptz(3): the Date it read
// compares equal), so a caller can fence its write without holding a transaction open.
export async function setCardStateIfUnchanged(
  sql: Sql,
  at: Date,
  card_token: string,
  state: CardState,
  expected_updated_at: Date,
): Promise<CardIssueOutcome> {
  const [row] = await sql`
    update personal.cards set state = ${state}, failure_reason = null, updated_at = ${nextVersion(sql, at)}
    where card_token = ${card_token} and updated_at = ${expected_updated_at}
      and (state <> 'terminated' or ${state}::text = 'terminated')
    returning *`;
  return conditionalOutcome(sql, card_token, row);
}

// updated_at is the version of a card or cardholder in Redis, which refuses a version that is
// not newer: strictly later than before, even in the same ms or with a clock that went back.
function nextVersion(sql: Sql, at: Date) {
  return sql`greatest(${at}::timestamptz, updated_at + interval '1 millisecond')`;
}

// From 'unactivated' or 'failed' only (a parked command replayed after a failure may still
// succeed); an active, suspended or terminated card keeps its state and details.
export async function recordCardIssued(
  sql: Sql,
  at: Date,
  card_token: string,
  details: IssuedCardDetails,
): Promise<CardIssueOutcome> {
  const [row] = await sql`
    update personal.cards
    set state = 'active', failure_reason = null, last_four = ${details.last_four},
        expiration_month = ${details.expiration_month}, expiration_year = ${details.expiration_year},
        updated_at = ${nextVersion(sql, at)}
    where card_token = ${card_token} and state in ('unactivated', 'failed')
    returning *`;
  return conditionalOutcome(sql, card_token, row);
}

export async function recordCardIssueFailed(
  sql: Sql,
  at: Date,
  card_token: string,
  reason: string,
): Promise<CardIssueOutcome> {
  const [row] = await sql`
    update personal.cards set state = 'failed', failure_reason = ${reason}, updated_at = ${nextVersion(sql, at)}
    where card_token = ${card_token} and state in ('unactivated', 'failed')
    returning *`;
  return conditionalOutcome(sql, card_token, row);
}

// A conditional update that matched no row changed nothing: the card as it is, or not found.
async function conditionalOutcome(
  sql: Sql,
  card_token: string,
  row: Row | undefined,
): Promise<CardIssueOutcome> {
  if (row !== undefined) return { card: cardFromRow(row), changed: true };
  const card = await getCard(sql, card_token);
  if (card === null) throw new PersonalNotFoundError(`no card ${card_token}`);
  return { card, changed: false };
}

export async function listCardsAwaitingIssue(
  sql: Sql,
  created_before: Date,
  limit: number,
  after: AwaitingIssueCursor | undefined,
): Promise<PersonalCard[]> {
  const past_cursor =
    after === undefined
      ? sql``
      : sql`and (created_at, card_token) > (${after.created_at}, ${after.card_token})`;
  const rows = await sql`
    select * from personal.cards
    where state = 'unactivated' and created_at < ${created_before} ${past_cursor}
    order by created_at, card_token limit ${limit}`;
  return rows.map(cardFromRow);
}

export async function listCards(sql: Sql, user_token: string): Promise<PersonalCard[]> {
  const rows = await sql`
    select * from personal.cards where user_token = ${user_token}
    order by created_at, card_token limit ${max_cards_listed}`;
  return rows.map(cardFromRow);
}
