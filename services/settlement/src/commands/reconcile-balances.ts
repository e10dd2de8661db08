import type { CardStateStore, HoldScripts } from '@afc/card-state';
import type { PersonalStore, Wallet } from '@afc/personal-store';
import { masterNodes } from '@afc/redis';
import type { Service } from '@afc/service-kit';
import type { CardOutcome } from './reconcile.ts';

export interface BalanceDependencies {
  readonly redis: Service['redis'];
  readonly cards: CardStateStore;
  readonly holds: HoldScripts;
  readonly personal_store: PersonalStore;
  // The client's key prefix: SCAN patterns and replies carry it, commands do not.
  readonly key_prefix: string;
}

export interface BalanceChange {
  readonly user_token: string;
  readonly redis: { readonly available_minor: number; readonly held_minor: number };
  readonly books: { readonly available_minor: number; readonly held_minor: number };
  readonly outcome: CardOutcome;
}

export interface BalanceReport {
  readonly balances_checked: number;
  readonly in_sync: number;
  // Loaded as "no wallet" in Redis, or no wallet in the store: nothing to compare.
  readonly without_wallet: number;
  readonly outcomes: Readonly<Record<CardOutcome, number>>;
  readonly changes: readonly BalanceChange[];
}

const fields = ['loaded', 'available', 'held', 'wallet_version'] as const;
const max_reported = 1_000;
const balance_key = /:user:(.+):balance$/;

// Every balance hash Redis holds, by SCAN (bounded pages; on a Cluster, every master).
async function* balanceKeys(deps: BalanceDependencies, page: number): AsyncGenerator<string[]> {
  for (const node of masterNodes(deps.redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(
        cursor,
        'MATCH',
        `${deps.key_prefix}{*}:user:*:balance`,
        'COUNT',
        page,
      );
      cursor = next;
      if (keys.length > 0) yield keys.map((key) => key.slice(deps.key_prefix.length));
    } while (cursor !== '0');
  }
}

function sameWallet(a: Wallet | null, b: Wallet | null): boolean {
  return (
    a?.version === b?.version && a?.available_minor === b?.available_minor && a?.held_minor === b?.held_minor
  );
}

async function checkBalance(
  deps: BalanceDependencies,
  key: string,
  repair: boolean,
): Promise<BalanceChange | 'in_sync' | 'without_wallet'> {
  const user_token = balance_key.exec(key)?.[1];
  if (user_token === undefined) return 'without_wallet';
  const before = await deps.personal_store.getWallet(user_token);
  const raw = await deps.redis.hmget(key, ...fields);
  const after = await deps.personal_store.getWallet(user_token);
  if (before === null || raw[1] === null) return 'without_wallet';
  const redis = { available_minor: Number(raw[1]), held_minor: Number(raw[2]) };
  const books = { available_minor: before.available_minor, held_minor: before.held_minor };
  if (redis.available_minor === books.available_minor && redis.held_minor === books.held_minor)
    return 'in_sync';
  let outcome: CardOutcome = 'would_repair';
  if (!sameWallet(before, after)) outcome = 'moving';
  else if (repair) {
    const expected = Object.fromEntries(fields.map((field, i) => [field, raw[i] ?? '']));
    // wallet_version: the store's version these totals are, so deposits up to it count as in.
    const values = {
      available: String(books.available_minor),
      held: String(books.held_minor),
      loaded: '1',
      wallet_version: String(before.version),
    };
    outcome = (await deps.holds.compareAndSetHash(key, expected, values)) ? 'repaired' : 'raced';
  }
  return { user_token, redis, books, outcome };
}

// Personal balances: Redis's available/held against the wallet in the personal store (which
// follows every settled balance delta), repaired the same guarded way as the counters.
export async function reconcileBalances(
  deps: BalanceDependencies,
  options: { readonly repair: boolean; readonly page: number },
): Promise<BalanceReport> {
  const outcomes: Record<CardOutcome, number> = { repaired: 0, would_repair: 0, raced: 0, moving: 0 };
  const changes: BalanceChange[] = [];
  let balances_checked = 0;
  let in_sync = 0;
  let without_wallet = 0;
  for await (const keys of balanceKeys(deps, options.page)) {
    for (const key of keys) {
      balances_checked += 1;
      const result = await checkBalance(deps, key, options.repair);
      if (result === 'in_sync') in_sync += 1;
      else if (result === 'without_wallet') without_wallet += 1;
      else {
        outcomes[result.outcome] += 1;
        if (changes.length < max_reported) changes.push(result);
      }
    }
  }
  return { balances_checked, in_sync, without_wallet, outcomes, changes };
}
