import assert from 'node:assert/strict';
import type { HoldScripts } from '@afc/card-state';
import type { Logger } from '@afc/log';
import { max_scan_limit } from '@afc/personal-store';
import { type LedgerDependencies, recordLedgerInput } from '../handle-event.ts';
import { expiryInput, type Program } from '../ledger-input.ts';

export interface SweepDependencies extends LedgerDependencies {
  readonly holds: HoldScripts;
  readonly logger: Logger;
}

export interface SweepReport {
  // Another settlement process was sweeping: this pass did nothing.
  readonly busy: boolean;
  // Rows past their expiry the pass looked at (at most the batch).
  readonly due: number;
  readonly expired: number;
  // Settled by an event since it was listed, or already recorded: nothing to do.
  readonly skipped: number;
  readonly failed: number;
  readonly released_minor: number;
  readonly captured_minor: number;
  // Redis had no hold (lost, or never made): recorded expired, nothing moved.
  readonly hold_not_found: number;
}

// A hold past its expiry, from either ledger.
interface DueRow {
  readonly program: Program;
  readonly jit_token: string;
  readonly currency: string;
  readonly expires_at: Date;
  readonly card_token: string;
  readonly user_token: string;
}

// Open holds: pending, or partially cleared with the rest still held.
const open_states: readonly string[] = ['pending', 'partially_cleared'];
// pg_try_advisory_lock key of the sweep (one pass at a time across settlement processes, over
// both programs: the personal store may be MongoDB, but the lock lives in PostgreSQL, which
// every settlement process has).
const sweep_lock_key = 0x5e77_1e01;

type Outcome = { kind: 'skipped' } | { kind: 'expired'; released: number; captured: number; found: boolean };

// Settled by an event since it was listed: nothing to expire.
async function stillOpen(deps: SweepDependencies, row: DueRow): Promise<boolean> {
  if (row.program === 'personal') {
    const transaction = await deps.personal_store.getTransaction(row.jit_token);
    return transaction !== null && open_states.includes(transaction.state);
  }
  const [open] = await deps.postgres.sql`
    select 1 from transactions where jit_token = ${row.jit_token} and state in ${deps.postgres.sql(open_states)}`;
  return open !== undefined;
}

// Redis first (the script is idempotent by token and answers its first movement again), then
// the ledger (idempotent by `<jit>:hold.expired`): a pass killed between the two records on the
// next pass exactly what Redis did, and a repeat records nothing. A personal hold's release gives
// the wallet back in Redis (the script) and in the store (the ledger event's balance delta,
// moved once with the event).
async function expireOne(deps: SweepDependencies, row: DueRow): Promise<Outcome> {
  if (!(await stillOpen(deps, row))) return { kind: 'skipped' };
  const result = await deps.holds.expireHold(row.user_token, row.card_token, row.jit_token);
  const { movement } = result;
  const outcome = await recordLedgerInput(
    deps,
    expiryInput({
      jit_token: row.jit_token,
      program: row.program,
      card_token: row.card_token,
      user_token: row.user_token,
      currency: row.currency,
      expired_at_ms: row.expires_at.getTime(),
      movement,
    }),
  );
  deps.logger.info(
    {
      event: 'settlement.hold_expired',
      jit_token: row.jit_token,
      program: row.program,
      action: movement.action,
      released_minor: movement.released_minor,
      captured_minor: movement.captured_minor,
      outcome,
      repeated_script: !result.first,
    },
    'hold expired',
  );
  if (outcome === 'duplicate') return { kind: 'skipped' };
  if (movement.action === 'hold_not_found' && row.program === 'personal')
    // Nothing moved: whatever the wallet holds for this row in the store stays held. Redis lost
    // the hold (rebuild-redis restores open holds), or it never held it (an authorization only
    // Marqeta reported): someone must look.
    deps.logger.warn(
      { event: 'settlement.personal_hold_not_found', jit_token: row.jit_token, user_token: row.user_token },
      'personal hold expired without a hold in Redis: the wallet was not moved',
    );
  return {
    kind: 'expired',
    released: movement.released_minor,
    captured: movement.captured_minor,
    found: movement.action !== 'hold_not_found',
  };
}

// The states are literals, not parameters: the partial index transactions_open_expiry_idx
// (migration 0008) matches only a predicate the planner can read in the statement itself.
async function businessDueRows(deps: SweepDependencies, batch: number, now_ms: number): Promise<DueRow[]> {
  const sql = deps.postgres.sql;
  const rows = await sql<Omit<DueRow, 'program'>[]>`
    select t.jit_token, t.currency_code as currency, t.expires_at, c.card_token, u.user_token
    from transactions t join cards c on c.id = t.card_id join users u on u.id = t.user_id
    where t.state in ('pending', 'partially_cleared') and t.expires_at <= ${new Date(now_ms)}
    order by t.expires_at limit ${batch}`;
  return rows.map((row) => ({ ...row, program: 'business' }));
}

async function personalDueRows(deps: SweepDependencies, batch: number, now_ms: number): Promise<DueRow[]> {
  if (batch === 0) return [];
  const holds = await deps.personal_store.listExpiredOpenHolds(
    new Date(now_ms),
    Math.min(batch, max_scan_limit),
  );
  const due: DueRow[] = [];
  for (const hold of holds) {
    // Listed because expires_at <= now: never null here.
    assert.ok(hold.expires_at !== null, 'an expired hold has an expiry');
    due.push({
      program: 'personal',
      jit_token: hold.jit_token,
      currency: hold.currency,
      expires_at: hold.expires_at,
      card_token: hold.card_token,
      user_token: hold.user_token,
    });
  }
  return due;
}

// Business holds first, then personal ones in what is left of the batch: a pass never ends
// more than the batch, and a full pass runs the next at once, so both drain.
async function dueRows(deps: SweepDependencies, batch: number, now_ms: number): Promise<DueRow[]> {
  const business = await businessDueRows(deps, batch, now_ms);
  const personal = await personalDueRows(deps, batch - business.length, now_ms);
  return [...business, ...personal];
}

// One bounded pass over business and personal holds past expiry, oldest first within each, by one settlement process at
// a time (a session advisory lock; the other finds it busy and waits for its next interval).
// Even without the lock two passes could not end a hold twice: both steps are idempotent. A row
// that fails is logged and counted; the next pass tries it again.
export async function sweepExpiredHolds(
  deps: SweepDependencies,
  options: {
    readonly batch: number;
    readonly now_ms: number;
    // Asked between rows: a shutdown does not wait for the rest of the batch.
    readonly stopping?: () => boolean;
  },
): Promise<SweepReport> {
  const report = {
    busy: false,
    due: 0,
    expired: 0,
    skipped: 0,
    failed: 0,
    released_minor: 0,
    captured_minor: 0,
    hold_not_found: 0,
  };
  const session = await deps.postgres.sql.reserve();
  try {
    const [lock] = await session<
      { locked: boolean }[]
    >`select pg_try_advisory_lock(${sweep_lock_key}) as locked`;
    if (lock?.locked !== true) return { ...report, busy: true };
    try {
      const due = await dueRows(deps, options.batch, options.now_ms);
      report.due = due.length;
      for (const row of due) {
        if (options.stopping?.() === true) break;
        await expireCounted(deps, row, report);
      }
    } finally {
      await session`select pg_advisory_unlock(${sweep_lock_key})`;
    }
    return report;
  } finally {
    session.release();
  }
}

async function expireCounted(
  deps: SweepDependencies,
  row: DueRow,
  report: {
    expired: number;
    skipped: number;
    failed: number;
    released_minor: number;
    captured_minor: number;
    hold_not_found: number;
  },
): Promise<void> {
  try {
    const outcome = await expireOne(deps, row);
    if (outcome.kind === 'skipped') {
      report.skipped += 1;
      return;
    }
    report.expired += 1;
    report.released_minor += outcome.released;
    report.captured_minor += outcome.captured;
    if (!outcome.found) report.hold_not_found += 1;
  } catch (error) {
    report.failed += 1;
    deps.logger.error(
      { event: 'settlement.hold_expiry_failed', jit_token: row.jit_token, err: error },
      'expiry failed',
    );
  }
}
