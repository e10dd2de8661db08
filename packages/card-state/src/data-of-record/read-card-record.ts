import type { Cardholder, CardState, SpendingControls, WindowCounters } from '@afc/domain';
import { dayToIsoDate, effectiveCardholderStatus, windowStarts } from '@afc/domain';
import type { PersonalStore } from '@afc/personal-store';
import type { Sql } from '@afc/postgres';

// Everything the decision script needs about one card, read from the data of record when
// Redis lacks it (first use, after a Redis loss, after the negative cache expired).
export interface CardRecord {
  readonly card: CardState;
  readonly controls: SpendingControls & { readonly version: number };
  readonly cardholder: Cardholder & { readonly version: number };
  // Durable totals of the current windows: Redis resumes counting from them.
  readonly counters: WindowCounters;
  // wallet_version: the wallet's version in the data of record when read (deposits compare it).
  readonly balance?: {
    readonly available_minor: number;
    readonly held_minor: number;
    readonly wallet_version?: number;
  };
}

export interface RecordSources {
  readonly sql: Sql;
  readonly personal_store: PersonalStore;
}

interface BusinessRow {
  card_token: string;
  state: CardState['state'];
  expiration_year: number | null;
  expiration_month: number | null;
  currency_code: string;
  version: number;
  user_token: string;
  user_status: Cardholder['status'];
  // Marqeta's user status from usertransitions webhooks (null until one arrived).
  marqeta_state: string | null;
  user_version: number;
  per_transaction_limit_minor: number | null;
  daily_limit_minor: number | null;
  weekly_limit_minor: number | null;
  monthly_limit_minor: number | null;
  daily_count_limit: number | null;
  weekly_count_limit: number | null;
  monthly_count_limit: number | null;
  mcc_allow: string[] | null;
  mcc_block: string[] | null;
  blocked_merchant_ids: string[] | null;
  blocked_countries: string[] | null;
  controls_version: number | null;
}

// Both programs at once; undefined when neither knows the card. The first side that finds it
// answers without waiting for the other: a personal card loads while PostgreSQL is away (the
// personal store on MongoDB), and a stalled personal store does not hold back business cards.
// A side that failed is an error only when the other did not find the card (it might have been
// the failed side's).
async function firstFound<T>(reads: readonly Promise<T | undefined>[]): Promise<T | undefined> {
  const found = reads.map(async (read) => {
    const value = await read;
    if (value === undefined) throw new Error('not this program');
    return value;
  });
  try {
    return await Promise.any(found);
  } catch {
    // Neither found it: say why, a failure before "unknown".
  }
  for (const outcome of await Promise.allSettled(reads)) {
    if (outcome.status === 'rejected') throw outcome.reason;
  }
  return undefined;
}

export async function readCardRecord(
  sources: RecordSources,
  card_token: string,
  now_ms: number,
): Promise<CardRecord | undefined> {
  return firstFound([
    readBusinessCard(sources.sql, card_token, now_ms),
    readPersonalCard(sources.personal_store, card_token, now_ms),
  ]);
}

async function readBusinessCard(
  sql: Sql,
  card_token: string,
  now_ms: number,
): Promise<CardRecord | undefined> {
  const [row] = await sql<BusinessRow[]>`
    select c.card_token, c.state, c.expiration_year, c.expiration_month, c.currency_code, c.version,
           u.user_token, u.status as user_status, u.marqeta_state, u.version as user_version,
           sc.per_transaction_limit_minor, sc.daily_limit_minor, sc.weekly_limit_minor,
           sc.monthly_limit_minor, sc.daily_count_limit, sc.weekly_count_limit, sc.monthly_count_limit,
           sc.mcc_allow, sc.mcc_block, sc.blocked_merchant_ids, sc.blocked_countries,
           sc.version as controls_version
    from cards c
    join users u on u.id = c.user_id
    left join spending_controls sc on sc.card_id = c.id
    where c.card_token = ${card_token}`;
  if (row === undefined) return undefined;
  const counters = await readDurableTotals(sql, card_token, now_ms);
  return {
    card: {
      card_token: row.card_token,
      user_token: row.user_token,
      program: 'business',
      state: row.state,
      // A card still being issued has no expiry yet; it cannot spend anyway (state first).
      expiration_year: row.expiration_year ?? 1970,
      expiration_month: row.expiration_month ?? 1,
      currency: row.currency_code,
      version: row.version,
    },
    controls: businessControls(row),
    cardholder: {
      user_token: row.user_token,
      program: 'business',
      // Ours and Marqeta's: a cardholder Marqeta suspended is suspended here too.
      status: effectiveCardholderStatus(row.user_status, row.marqeta_state),
      version: row.user_version,
    },
    counters,
  };
}

function businessControls(row: BusinessRow): CardRecord['controls'] {
  const limits = {
    per_transaction_limit_minor: row.per_transaction_limit_minor,
    daily_limit_minor: row.daily_limit_minor,
    weekly_limit_minor: row.weekly_limit_minor,
    monthly_limit_minor: row.monthly_limit_minor,
    daily_count_limit: row.daily_count_limit,
    weekly_count_limit: row.weekly_count_limit,
    monthly_count_limit: row.monthly_count_limit,
  };
  // Absent is "no limit" in the domain; null columns must not become limits of 0.
  const present = Object.fromEntries(Object.entries(limits).filter(([, value]) => value !== null));
  return {
    ...present,
    mcc_allow: row.mcc_allow ?? [],
    mcc_block: row.mcc_block ?? [],
    blocked_merchant_ids: row.blocked_merchant_ids ?? [],
    blocked_countries: row.blocked_countries ?? [],
    version: row.controls_version ?? 0,
  };
}

async function readDurableTotals(sql: Sql, card_token: string, now_ms: number): Promise<WindowCounters> {
  const starts = windowStarts(now_ms);
  const rows = await sql<{ window_kind: 'day' | 'week' | 'month'; amount_minor: number; count: number }[]>`
    select t.window_kind, t.amount_minor, t.count
    from spending_totals t join cards c on c.id = t.card_id
    where c.card_token = ${card_token}
      and ((t.window_kind = 'day' and t.window_start = ${dayToIsoDate(starts.day)}::date)
        or (t.window_kind = 'week' and t.window_start = ${dayToIsoDate(starts.week)}::date)
        or (t.window_kind = 'month' and t.window_start = ${dayToIsoDate(starts.month)}::date))`;
  const of = (kind: 'day' | 'week' | 'month', start: number) => {
    const found = rows.find((r) => r.window_kind === kind);
    return { start, amount_minor: found?.amount_minor ?? 0, count: found?.count ?? 0 };
  };
  return { day: of('day', starts.day), week: of('week', starts.week), month: of('month', starts.month) };
}

const personal_card_states: Record<string, CardState['state']> = {
  unactivated: 'requested',
  active: 'active',
  suspended: 'suspended',
  terminated: 'terminated',
};

async function readPersonalCard(
  store: PersonalStore,
  card_token: string,
  now_ms: number,
): Promise<CardRecord | undefined> {
  const card = await store.getCard(card_token);
  if (card === null) return undefined;
  const [user, wallet] = await Promise.all([
    store.getUser(card.user_token),
    store.getWallet(card.user_token),
  ]);
  if (user === null || wallet === null) return undefined;
  const starts = windowStarts(now_ms);
  const zero = (start: number) => ({ start, amount_minor: 0, count: 0 });
  return {
    card: {
      card_token: card.card_token,
      user_token: card.user_token,
      program: 'personal',
      state: personal_card_states[card.state] ?? 'suspended',
      expiration_year: card.expiration_year,
      expiration_month: card.expiration_month,
      currency: card.currency,
      version: card.updated_at.getTime(),
    },
    // Personal cards spend their wallet; the program sets no velocity controls on them.
    controls: { mcc_allow: [], mcc_block: [], blocked_merchant_ids: [], blocked_countries: [], version: 0 },
    cardholder: {
      user_token: user.user_token,
      program: 'personal',
      status: user.status,
      version: user.updated_at.getTime(),
    },
    counters: { day: zero(starts.day), week: zero(starts.week), month: zero(starts.month) },
    balance: {
      available_minor: wallet.available_minor,
      held_minor: wallet.held_minor,
      wallet_version: wallet.version,
    },
  };
}

// A cardholder alone (a user transition changes no card): as readCardRecord reads it, so the
// versions written to Redis are the same whichever reader wrote them, from both programs at once.
export async function readCardholderRecord(
  sources: RecordSources,
  user_token: string,
): Promise<CardRecord['cardholder'] | undefined> {
  return firstFound([
    readBusinessCardholder(sources.sql, user_token),
    readPersonalCardholder(sources, user_token),
  ]);
}

async function readBusinessCardholder(
  sql: Sql,
  user_token: string,
): Promise<CardRecord['cardholder'] | undefined> {
  const [row] = await sql<
    { user_token: string; status: Cardholder['status']; marqeta_state: string | null; version: number }[]
  >`select user_token, status, marqeta_state, version from users where user_token = ${user_token}`;
  if (row === undefined) return undefined;
  return {
    user_token: row.user_token,
    program: 'business',
    status: effectiveCardholderStatus(row.status, row.marqeta_state),
    version: row.version,
  };
}

async function readPersonalCardholder(
  sources: RecordSources,
  user_token: string,
): Promise<CardRecord['cardholder'] | undefined> {
  const user = await sources.personal_store.getUser(user_token);
  if (user === null) return undefined;
  return { user_token, program: 'personal', status: user.status, version: user.updated_at.getTime() };
}
