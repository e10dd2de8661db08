// The demo's final check: the script's expectations against the books. For each business card,
// its ledger rows (the api's transactions route, written by settlement) and its spending
// counters in the real-time state (Redis, what the authorizer decides on) and in the data of
// record (spending_totals, written by settlement). For the personal card, the wallet in both.
// Settlement is asynchronous: the books are read again (bounded) until they agree or time runs out.
import { cardStateKeys, userStateKeys } from '@afc/card-state';
import type { Logger } from '@afc/log';
import { createPostgres, type PostgresClient } from '@afc/postgres';
import { createRedis, type RedisClient } from '@afc/redis';
import type { DemoCard, DemoPersonal, DemoRun } from './demo-setup.ts';
import { bearer, expectStatus, pollUntil } from './http.ts';
import type { Platform } from './platform.ts';
import { money } from './report.ts';

export interface RowExpectation {
  readonly jit_token: string;
  readonly state: string;
  readonly authorized_minor?: number;
  readonly cleared_minor?: number;
  readonly reversed_minor?: number;
  readonly refunded_minor?: number;
  readonly decline_reason?: string;
}

export interface CardExpectation {
  readonly label: string;
  readonly card: DemoCard;
  readonly day_amount_minor: number;
  readonly day_count: number;
  readonly rows: readonly RowExpectation[];
}

export interface PersonalExpectation extends DemoPersonal {
  readonly label: string;
  readonly available_minor: number;
  readonly held_minor: number;
  // The personal ledger shows no decline reason: none is expected here.
  readonly rows: readonly RowExpectation[];
}

export interface CheckRow {
  readonly subject: string;
  readonly check: string;
  readonly expected: string;
  readonly realtime: string;
  readonly ledger: string;
  readonly verdict: 'ok' | 'MISMATCH' | 'not available';
}

export interface LedgerReport {
  readonly rows: readonly CheckRow[];
  readonly differences: readonly string[];
  readonly ok: boolean;
}

interface CheckTarget {
  readonly platform: Platform;
  readonly logger: Logger;
  readonly settle_timeout_ms: number;
}

interface LedgerRow {
  readonly jit_token: string;
  readonly state: string;
  readonly authorized_minor: number;
  readonly cleared_minor: number;
  readonly reversed_minor: number;
  readonly refunded_minor: number;
  readonly decline_reason: string | null;
}

interface Books {
  readonly redis: RedisClient;
  readonly postgres: PostgresClient;
}

const amount_fields = ['authorized_minor', 'cleared_minor', 'reversed_minor', 'refunded_minor'] as const;

export async function checkLedger(
  target: CheckTarget,
  run: DemoRun,
  cards: readonly CardExpectation[],
  personal: PersonalExpectation,
): Promise<LedgerReport> {
  const books = openBooks(target.platform, target.logger);
  try {
    // Until settlement has caught up with every expectation, or the bound passes.
    await pollUntil(
      'settlement caught up',
      async () => (await compareAll(target, books, run, cards, personal)).differences.length === 0,
      target.settle_timeout_ms,
    ).catch(() => undefined);
    return await compareAll(target, books, run, cards, personal);
  } finally {
    await Promise.allSettled([books.redis.quit(), books.postgres.close(2_000)]);
  }
}

function openBooks(platform: Platform, logger: Logger): Books {
  const redis = createRedis(
    {
      url: platform.redis.url,
      key_prefix: platform.redis.key_prefix,
      command_timeout_ms: 2_000,
      max_retries_per_request: 1,
      connect_timeout_ms: 2_000,
      enable_offline_queue: true,
      connection_name: 'afc-demo',
    },
    logger,
  );
  const postgres = createPostgres(
    {
      url: platform.database_url,
      application_name: 'afc-demo',
      max_connections: 1,
      statement_timeout_ms: 5_000,
    },
    logger,
  );
  return { redis, postgres };
}

async function compareAll(
  target: CheckTarget,
  books: Books,
  run: DemoRun,
  cards: readonly CardExpectation[],
  personal: PersonalExpectation,
): Promise<LedgerReport> {
  const rows: CheckRow[] = [];
  const differences: string[] = [];
  for (const card of cards) {
    const checked = await compareCard(target, books, run.company_key, card);
    rows.push(...checked.rows);
    differences.push(...checked.differences);
  }
  const wallet = await compareWallet(target, books, personal);
  rows.push(...wallet.rows);
  differences.push(...wallet.differences);
  return { rows, differences, ok: differences.length === 0 };
}

async function compareCard(target: CheckTarget, books: Books, key: string, expected: CardExpectation) {
  const ledger = await expectStatus<{ data: LedgerRow[] }>(
    'GET',
    `${target.platform.urls.api}/v1/cards/${expected.card.id}/transactions?limit=200`,
    [200],
    { headers: bearer(key) },
  );
  const row_differences = rowDifferences(expected.label, expected.rows, ledger.data);
  const differences = [...row_differences];
  const realtime = await realtimeCounters(books.redis, target.platform, expected.card);
  const recorded = await recordedCounters(books.postgres, expected.card.id);
  const want = `${money(expected.day_amount_minor)} / ${expected.day_count}`;
  const seen_realtime = `${money(realtime.amount_minor)} / ${realtime.count}`;
  const seen_recorded = `${money(recorded.amount_minor)} / ${recorded.count}`;
  if (seen_realtime !== want)
    differences.push(`${expected.label}: real-time counters ${seen_realtime}, expected ${want}`);
  if (seen_recorded !== want)
    differences.push(`${expected.label}: recorded totals ${seen_recorded}, expected ${want}`);
  const rows: CheckRow[] = [
    {
      subject: expected.label,
      check: "today's spend / count",
      expected: want,
      realtime: seen_realtime,
      ledger: seen_recorded,
      verdict: seen_realtime === want && seen_recorded === want ? 'ok' : 'MISMATCH',
    },
    ledgerRowsCheck(expected.label, expected.rows, ledger.data, row_differences),
  ];
  return { rows, differences };
}

function ledgerRowsCheck(
  label: string,
  expected: readonly RowExpectation[],
  ledger: readonly LedgerRow[],
  differences: readonly string[],
): CheckRow {
  const declined = (rows: readonly { state: string }[]) =>
    rows.filter((row) => row.state === 'declined').length;
  return {
    subject: label,
    check: 'ledger rows (by JIT token)',
    expected: `${expected.length - declined(expected)} held/settled, ${declined(expected)} declined`,
    realtime: '',
    ledger: `${ledger.length - declined(ledger)} held/settled, ${declined(ledger)} declined`,
    verdict: differences.length === 0 ? 'ok' : 'MISMATCH',
  };
}

function rowDifferences(label: string, expected: readonly RowExpectation[], ledger: readonly LedgerRow[]) {
  const differences: string[] = [];
  const by_token = new Map(ledger.map((row) => [row.jit_token, row]));
  for (const want of expected) {
    const row = by_token.get(want.jit_token);
    by_token.delete(want.jit_token);
    if (row === undefined) {
      differences.push(`${label}: row ${want.jit_token} missing from the ledger (expected ${want.state})`);
      continue;
    }
    const seen: string[] = [];
    if (row.state !== want.state) seen.push(`state ${row.state} (expected ${want.state})`);
    for (const field of amount_fields) {
      const amount = want[field] ?? 0;
      if (row[field] !== amount) seen.push(`${field} ${row[field]} (expected ${amount})`);
    }
    if (want.decline_reason !== undefined && row.decline_reason !== want.decline_reason)
      seen.push(`decline_reason ${row.decline_reason} (expected ${want.decline_reason})`);
    if (seen.length > 0) differences.push(`${label}: row ${want.jit_token}: ${seen.join(', ')}`);
  }
  for (const extra of by_token.values())
    differences.push(`${label}: row ${extra.jit_token} (${extra.state}) not in the script`);
  return differences;
}

const day_ms = 86_400_000;

// The card's counters for today's UTC day as the authorizer holds them.
async function realtimeCounters(redis: RedisClient, platform: Platform, card: DemoCard) {
  const keys = cardStateKeys(card.user_token, card.card_token, platform.redis.partitions);
  const counters = await redis.hgetall(keys.cardCounters);
  const today = Math.floor(Date.now() / day_ms);
  if (Number(counters.day_start) !== today) return { amount_minor: 0, count: 0 };
  return { amount_minor: Number(counters.day_amount ?? 0), count: Number(counters.day_count ?? 0) };
}

async function recordedCounters(postgres: PostgresClient, card_id: string) {
  const today = new Date().toISOString().slice(0, 10);
  const [row] = await postgres.sql<{ amount_minor: number; count: number }[]>`
    select amount_minor::int8 as amount_minor, count::int8 as count from spending_totals
    where card_id = ${card_id} and window_kind = 'day' and window_start = ${today}`;
  return { amount_minor: Number(row?.amount_minor ?? 0), count: Number(row?.count ?? 0) };
}

async function compareWallet(target: CheckTarget, books: Books, personal: PersonalExpectation) {
  const { urls, admin_key, redis } = target.platform;
  const keys = userStateKeys(personal.user_token, redis.partitions);
  const balance = await books.redis.hgetall(keys.userBalance);
  const user = await expectStatus<{ wallet: { available_minor: number; held_minor: number } }>(
    'GET',
    `${urls.api}/v1/personal/users/${personal.user_token}`,
    [200],
    { headers: bearer(admin_key) },
  );
  const want = `${money(personal.available_minor)} / ${money(personal.held_minor)}`;
  const realtimeMoney = (value: string | undefined) =>
    value === undefined ? 'missing' : money(Number(value));
  const realtime = `${realtimeMoney(balance.available)} / ${realtimeMoney(balance.held)}`;
  const recorded = `${money(user.wallet.available_minor)} / ${money(user.wallet.held_minor)}`;
  const differences: string[] = [];
  if (realtime !== want) differences.push(`${personal.label}: real-time ${realtime}, expected ${want}`);
  if (recorded !== want) differences.push(`${personal.label}: data of record ${recorded}, expected ${want}`);
  const wallet: CheckRow = {
    subject: personal.label,
    check: 'wallet available / held',
    expected: want,
    realtime,
    ledger: recorded,
    verdict: differences.length === 0 ? 'ok' : 'MISMATCH',
  };
  const ledger = await expectStatus<{ data: LedgerRow[] }>(
    'GET',
    `${urls.api}/v1/personal/cards/${personal.card.card_token}/transactions?limit=100`,
    [200],
    { headers: bearer(admin_key) },
  );
  const rows = rowDifferences(personal.label, personal.rows, ledger.data);
  differences.push(...rows);
  return { rows: [wallet, ledgerRowsCheck(personal.label, personal.rows, ledger.data, rows)], differences };
}
