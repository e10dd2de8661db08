import { local_card_state_of } from '@afc/domain';
import type { PersonalStore } from '@afc/personal-store';
import type { Sql } from '@afc/postgres';

export type Program = 'business' | 'personal';

// What Marqeta told us about the issued card (never the PAN or CVV).
export interface IssuedDetails {
  readonly last_four: string;
  readonly expiration_month: number;
  readonly expiration_year: number;
}

// A card as the issuer needs it: enough to create the Marqeta user, whether it is past issuance
// already, and once issued enough to announce card.issued from the data of record alone.
export interface IssuableCard {
  readonly program: Program;
  readonly card_token: string;
  readonly user_token: string;
  // Active, suspended or terminated: issued before. A command for it only heals Redis; it never
  // goes to Marqeta again (where it could only fail, or undo a suspension).
  readonly issued: boolean;
  readonly holder: { readonly email: string; readonly first_name?: string; readonly last_name?: string };
  // Set when issued: Marqeta's details, and the card record's last change as issued_at (the
  // activation itself when card.issued is first published right after it; a later republish of
  // a card moved on since carries the later time, and consumers keep the first copy by its id).
  readonly details?: IssuedDetails & { readonly issued_at: Date };
}

// The states only an issued card can be in (transitions move issued cards only).
const issued_states: readonly string[] = Object.values(local_card_state_of);

export interface CardRecords {
  load(program: Program, card_token: string): Promise<IssuableCard | undefined>;
  // Idempotent: a card already issued keeps its state and details.
  activate(card: IssuableCard, details: IssuedDetails): Promise<IssuableCard>;
  // Marks a card not yet active as failed; false when there was nothing to mark.
  fail(card: IssuableCard, reason: string): Promise<boolean>;
}

interface BusinessRow {
  card_token: string;
  user_token: string;
  state: string;
  email: string;
  full_name: string;
  last_four: string | null;
  expiration_month: number | null;
  expiration_year: number | null;
  updated_at: Date;
}

// Marqeta caps first and last names at 40 characters.
function splitName(full_name: string): { first_name?: string; last_name?: string } {
  const parts = full_name.trim().split(/\s+/);
  const first = parts[0]?.slice(0, 40);
  const last = parts.slice(1).join(' ').slice(0, 40);
  return { ...(first ? { first_name: first } : {}), ...(last ? { last_name: last } : {}) };
}

function fromBusinessRow(row: BusinessRow): IssuableCard {
  const issued = issued_states.includes(row.state);
  const details =
    issued && row.last_four !== null && row.expiration_month !== null && row.expiration_year !== null
      ? {
          last_four: row.last_four,
          expiration_month: row.expiration_month,
          expiration_year: row.expiration_year,
          issued_at: row.updated_at,
        }
      : undefined;
  return {
    program: 'business',
    card_token: row.card_token,
    user_token: row.user_token,
    issued,
    holder: { email: row.email, ...splitName(row.full_name) },
    ...(details === undefined ? {} : { details }),
  };
}

const business_columns =
  'c.card_token, u.user_token, c.state, u.email, u.full_name, c.last_four, c.expiration_month, c.expiration_year, c.updated_at';

async function loadBusiness(sql: Sql, card_token: string): Promise<IssuableCard | undefined> {
  const [row] = await sql<BusinessRow[]>`
    select ${sql.unsafe(business_columns)}
    from cards c join users u on u.id = c.user_id
    where c.card_token = ${card_token}`;
  return row === undefined ? undefined : fromBusinessRow(row);
}

// A card from 'requested', 'issuing' or 'failed' (a parked command replayed) becomes active; a
// card already active, suspended or terminated is left alone (a late duplicate changes nothing).
async function activateBusiness(sql: Sql, card: IssuableCard, details: IssuedDetails) {
  await sql`
    update cards
    set state = 'active', failure_reason = null, last_four = ${details.last_four},
        expiration_month = ${details.expiration_month}, expiration_year = ${details.expiration_year},
        version = version + 1, updated_at = now()
    where card_token = ${card.card_token} and state in ('requested', 'issuing', 'failed')`;
  const reloaded = await loadBusiness(sql, card.card_token);
  if (reloaded === undefined) throw new Error(`card ${card.card_token} vanished while being issued`);
  return reloaded;
}

async function failBusiness(sql: Sql, card: IssuableCard, reason: string): Promise<boolean> {
  const rows = await sql`
    update cards set state = 'failed', failure_reason = ${reason}, version = version + 1, updated_at = now()
    where card_token = ${card.card_token} and state in ('requested', 'issuing', 'failed')
    returning card_token`;
  return rows.length > 0;
}

async function loadPersonal(store: PersonalStore, card_token: string): Promise<IssuableCard | undefined> {
  const card = await store.getCard(card_token);
  if (card === null) return undefined;
  const user = await store.getUser(card.user_token);
  if (user === null) return undefined;
  const issued = issued_states.includes(card.state);
  return {
    program: 'personal',
    card_token,
    user_token: card.user_token,
    issued,
    holder: { email: user.email },
    ...(issued
      ? {
          details: {
            last_four: card.last_four,
            expiration_month: card.expiration_month,
            expiration_year: card.expiration_year,
            issued_at: card.updated_at,
          },
        }
      : {}),
  };
}

export function createCardRecords(sql: Sql, store: PersonalStore): CardRecords {
  return {
    load: (program, card_token) =>
      program === 'business' ? loadBusiness(sql, card_token) : loadPersonal(store, card_token),
    async activate(card, details) {
      if (card.program === 'business') return activateBusiness(sql, card, details);
      // Like a business card: from 'unactivated' or 'failed' only, with Marqeta's last four and
      // expiry; a card already past issuance keeps its state and details.
      await store.recordCardIssued(card.card_token, details);
      const reloaded = await loadPersonal(store, card.card_token);
      if (reloaded === undefined) throw new Error(`card ${card.card_token} vanished while being issued`);
      return reloaded;
    },
    async fail(card, reason) {
      if (card.program === 'business') return failBusiness(sql, card, reason);
      const outcome = await store.recordCardIssueFailed(card.card_token, reason);
      return outcome.changed;
    },
  };
}
