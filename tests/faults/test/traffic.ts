import { setTimeout as sleep } from 'node:timers/promises';
import type { MarqetaSim } from '@afc/marqeta-sim';
import type { Sql } from '@afc/postgres';
import { waitUntil } from '@afc/testkit';

// What Marqeta (the simulator) made of one authorization: our gateway's answer, or its failure.
export interface Outcome {
  readonly jit_token: string;
  readonly approved: boolean;
  // The gateway's own fields when it answered (402: decline_reason and our memo).
  readonly decline_reason: string | undefined;
  readonly memo: string | undefined;
  // Marqeta's memo: 'Approved', 'JIT declined: ...', 'JIT gateway unreachable (...)', ...
  readonly sim_memo: string;
  // Marqeta's transaction object, as its transaction webhook carries it.
  readonly transaction: Readonly<Record<string, unknown>>;
}

export interface TrafficOptions {
  readonly sim: MarqetaSim;
  readonly sim_authorization: string;
  readonly card_tokens: readonly string[];
  // Requests in flight at once, and the pause each worker takes between two of them: a steady
  // stream, not a benchmark.
  readonly concurrency: number;
  readonly pause_ms: number;
  // Hard bound: the stream stops by itself after this many requests.
  readonly max_requests: number;
}

interface SimTransaction {
  readonly state: string;
  readonly response: { readonly code: string; readonly memo: string };
  readonly gpa_order?: {
    readonly jit_funding?: {
      readonly token?: string;
      readonly decline_reason?: string;
      readonly memo?: string;
    };
  };
}

// A steady, bounded stream of $1.00 purchases through marqeta-sim's simulate endpoint, which
// asks our JIT gateway over HTTP exactly as Marqeta would.
export class Traffic {
  readonly outcomes: Outcome[] = [];
  readonly errors: string[] = [];
  readonly #options: TrafficOptions;
  #stopping = false;
  #sent = 0;
  #workers: Promise<void>[] = [];

  constructor(options: TrafficOptions) {
    this.#options = options;
  }

  start(): void {
    this.#workers = Array.from({ length: this.#options.concurrency }, (_unused, worker) => this.#run(worker));
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#workers);
  }

  approvals(): string[] {
    return this.outcomes.filter((outcome) => outcome.approved).map((outcome) => outcome.jit_token);
  }

  // Waits until `count` more outcomes matching `predicate` arrived after this call.
  async waitForMore(count: number, predicate: (outcome: Outcome) => boolean, message: string): Promise<void> {
    const before = this.outcomes.filter(predicate).length;
    await waitUntil(() => this.outcomes.filter(predicate).length >= before + count, {
      timeout_ms: 20_000,
      message,
    });
  }

  async #run(worker: number): Promise<void> {
    const { card_tokens, max_requests, pause_ms } = this.#options;
    let index = worker;
    while (!this.#stopping && this.#sent < max_requests) {
      this.#sent += 1;
      const card_token = card_tokens[index % card_tokens.length] ?? '';
      index += this.#options.concurrency;
      await this.#authorize(card_token).catch((error: unknown) => {
        this.errors.push(String(error));
      });
      // Pacing of the stream, not a synchronisation: the drills wait on outcomes.
      if (pause_ms > 0) await sleep(pause_ms);
    }
  }

  async #authorize(card_token: string): Promise<void> {
    const response = await this.#options.sim.app.inject({
      method: 'POST',
      url: '/v3/simulate/authorization',
      headers: { authorization: this.#options.sim_authorization },
      payload: {
        card_token,
        amount: '1.00',
        mid: 'drill-grocer',
        currency_code: 'USD',
        card_acceptor: { mcc: '5411', name: 'Drill Grocer', country_code: 'USA' },
      },
    });
    if (response.statusCode !== 201) throw new Error(`simulate: ${response.statusCode} ${response.body}`);
    const transaction = response.json<{ transaction: SimTransaction }>().transaction;
    const jit = transaction.gpa_order?.jit_funding;
    this.outcomes.push({
      jit_token: jit?.token ?? '',
      approved: transaction.state === 'PENDING' && transaction.response.code === '0000',
      decline_reason: jit?.decline_reason,
      memo: jit?.memo,
      sim_memo: transaction.response.memo,
      transaction: transaction as unknown as Record<string, unknown>,
    });
  }
}

export interface BooksComparison {
  readonly approved_answered: number;
  readonly ledger_rows: number;
  readonly missing: readonly string[];
  readonly extra: readonly string[];
  // Rows holding other than exactly one authorization.approved event.
  readonly doubled: readonly string[];
}

// The settlement ledger against what the gateway answered: every approval Marqeta saw must be
// one ledger row holding exactly one approval event, and there must be no other approved row.
export async function compareBooks(
  sql: Sql,
  approved_jit_tokens: readonly string[],
): Promise<BooksComparison> {
  const rows = await sql<{ jit_token: string; approvals: number }[]>`
    select t.jit_token, count(e.id) filter (where e.kind = 'authorization.approved')::int as approvals
    from transactions t left join transaction_events e on e.transaction_id = t.id
    where t.state <> 'declined' group by t.jit_token`;
  const answered = new Set(approved_jit_tokens);
  const booked = new Set(rows.map((row) => row.jit_token));
  return {
    approved_answered: answered.size,
    ledger_rows: rows.length,
    missing: [...answered].filter((token) => !booked.has(token)),
    extra: [...booked].filter((token) => !answered.has(token)),
    doubled: rows.filter((row) => row.approvals !== 1).map((row) => row.jit_token),
  };
}

export async function waitForBooks(
  sql: Sql,
  traffic: Traffic,
  timeout_ms = 20_000,
): Promise<BooksComparison> {
  let last: BooksComparison | undefined;
  await waitUntil(
    async () => {
      last = await compareBooks(sql, traffic.approvals());
      return last.missing.length === 0 && last.extra.length === 0;
    },
    { timeout_ms, interval_ms: 100, message: 'the ledger to hold every approval' },
  ).catch((error: unknown) => {
    const shown = last && { ...last, missing: last.missing.slice(0, 5), extra: last.extra.slice(0, 5) };
    throw new Error(`${String(error)}; books then (first 5 of each): ${JSON.stringify(shown)}`);
  });
  return last as BooksComparison;
}

export function tally(outcomes: readonly Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) {
    const key = outcome.approved ? 'approved' : `declined(${outcome.memo ?? outcome.sim_memo})`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

// Each drill says what it did and what it compared, in the test output.
export function report(drill: string, facts: Record<string, unknown>): void {
  // biome-ignore lint/suspicious/noConsole: the drill's report is what it is run for.
  console.log(`[drill ${drill}] ${JSON.stringify(facts)}`);
}
