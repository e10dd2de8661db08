// Redis time per decide.lua call, the working tree's against a git ref's, interleaved on a
// private redis-server (not a test: speed is measured, never asserted). Run from the repo root:
//   node --conditions=@afc/source packages/card-state/test/measure-decide.ts [ref] [rounds]
// A throwaway redis-server on a free port keeps INFO commandstats ours alone (the shared Redis
// serves other engineers' tests); it is stopped by pid at the end. Interleaving the two scripts
// round by round cancels most of the noise of a shared machine; read the minimum and the median.
// Traffic mirrors bench/: business cards, limits set but rarely reached, ~10 % declines.
import { execFileSync, spawn } from 'node:child_process';
import { windowStarts } from '@afc/domain';
import { createLogger } from '@afc/log';
import { closeRedis, createRedis, type RedisClient, waitReady } from '@afc/redis';
import { freePort } from '@afc/testkit';
import { type CardStateStore, createCardState } from '../src/index.ts';
import { cardStateKeys } from '../src/keys.ts';
import { decideArgument } from '../src/requests.ts';
import { loadLua } from '../src/scripts.ts';

const ref = process.argv[2] ?? 'HEAD';
const rounds = Number(process.argv[3] ?? 6);
const cards = 200;
const calls_per_round = 4_000;
const in_flight = 16;
const logger = createLogger({ name: 'measure-decide', level: 'error' });

function luaAt(git_ref: string): string {
  const show = (file: string) =>
    execFileSync('git', ['show', `${git_ref}:packages/card-state/lua/${file}`], { encoding: 'utf8' });
  return `${show('lib.lua')}\n${show('decide.lua')}`;
}

async function seed(store: CardStateStore): Promise<void> {
  const s = windowStarts(Date.now());
  const zero = (start: number) => ({ start, amount_minor: 0, count: 0 });
  for (let i = 0; i < cards; i += 1) {
    const [card_token, user_token] = [`m-card-${i}`, `m-user-${i}`];
    await store.writeCard({
      ...{ card_token, user_token, program: 'business', state: 'active', currency: 'USD', version: 1 },
      ...{ expiration_year: 2099, expiration_month: 12 },
    });
    await store.writeControls(user_token, card_token, {
      ...{
        per_transaction_limit_minor: 5_000,
        daily_limit_minor: 100_000_000,
        weekly_limit_minor: 500_000_000,
      },
      ...{ monthly_limit_minor: 2_000_000_000, daily_count_limit: 100_000, weekly_count_limit: 500_000 },
      ...{ monthly_count_limit: 2_000_000, mcc_allow: [], blocked_merchant_ids: [], version: 1 },
      ...{ mcc_block: i % 4 === 0 ? ['7995'] : [], blocked_countries: i % 5 === 0 ? ['PRK'] : [] },
    });
    await store.writeCardholder({ user_token, program: 'business', status: 'active', version: 1 });
    await store.writeCounters(user_token, card_token, {
      day: zero(s.day),
      week: zero(s.week),
      month: zero(s.month),
    });
  }
}

let sequence = 0;
function decideArgs(): string[] {
  sequence += 1;
  const i = sequence % cards;
  const jit_token = `m-jit-${process.pid}-${sequence}`;
  const k = cardStateKeys(`m-user-${i}`, `m-card-${i}`, 64);
  const argument = decideArgument(
    {
      ...{ kind: 'authorization', single_message: false, method: 'pgfs.authorization', jit_token },
      ...{ card_token: `m-card-${i}`, user_token: `m-user-${i}`, currency: 'USD', mcc: '5411' },
      ...{ mid: 'merchant-000123', merchant_country: 'USA', merchant_name: 'Corner Grocery' },
      ...{ transaction_token: `m-txn-${sequence}`, network: 'VISA', now_ms: Date.now() },
      amount_minor: sequence % 10 === 0 ? 6_000 : 1_234,
      // Never late: this measures the decision itself (the deadline check reads TIME either way).
      deadline_at_ms: Number.MAX_SAFE_INTEGER,
      // As the authorizer sends it: stored with the decision.
      request_id: `m-request-${process.pid}-${sequence}`,
    },
    691_200,
    // Far above what a measurement writes into one partition: never full here.
    1_000_000,
  );
  const hold = k.holdKey(jit_token);
  return [k.cardState, k.cardControls, k.cardholderState, k.cardCounters, k.userBalance].concat([
    k.decisionKey(jit_token),
    hold,
    hold,
    k.outbox,
    argument,
  ]);
}

// µs per EVALSHA over one round, from INFO commandstats.
async function round(admin: RedisClient, redis: RedisClient, sha: string): Promise<number> {
  await admin.call('CONFIG', 'RESETSTAT');
  let sent = 0;
  const worker = async () => {
    for (; sent < calls_per_round; sent += 1) await redis.evalsha(sha, 9, ...decideArgs());
  };
  await Promise.all(Array.from({ length: in_flight }, worker));
  const stats = String(await admin.call('INFO', 'commandstats'));
  const match = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(stats);
  return Number(match?.[2]) / Number(match?.[1]);
}

function summary(values: readonly number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0]?.toFixed(1), median: sorted[Math.floor(sorted.length / 2)]?.toFixed(1) };
}

async function measure(admin: RedisClient, redis: RedisClient): Promise<void> {
  const shas = {
    [ref]: String(await admin.call('SCRIPT', 'LOAD', luaAt(ref))),
    'working tree': String(await admin.call('SCRIPT', 'LOAD', await loadLua('decide.lua', true))),
  };
  const results: Record<string, number[]> = {};
  for (let r = 0; r <= rounds; r += 1) {
    for (const [name, sha] of Object.entries(shas)) {
      const usec = await round(admin, redis, sha);
      if (r === 0) continue; // round 0 warms up
      const list = results[name] ?? [];
      list.push(usec);
      results[name] = list;
    }
  }
  const out = Object.entries(results).map(([name, values]) => ({ script: name, ...summary(values) }));
  process.stdout.write(`${JSON.stringify({ usec_per_decide: out, rounds, calls_per_round })}\n`);
}

async function main(): Promise<void> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const url = `redis://127.0.0.1:${port}`;
  const options = { url, command_timeout_ms: 10_000, max_retries_per_request: 1, connect_timeout_ms: 2_000 };
  const clients: RedisClient[] = [];
  try {
    // The offline queue holds the first commands until the new server accepts connections.
    const redis = createRedis({ ...options, key_prefix: 'afcmeasure:', enable_offline_queue: true }, logger);
    const admin = createRedis({ ...options, key_prefix: '', enable_offline_queue: true }, logger);
    clients.push(redis, admin);
    await Promise.all([waitReady(redis, 5_000), waitReady(admin, 5_000)]);
    const store = await createCardState({ redis, partitions: 64, refund_mode: 'counters_unchanged', logger });
    await seed(store);
    await measure(admin, redis);
  } finally {
    await Promise.all(clients.map((client) => closeRedis(client, 1_000)));
    if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
  }
}

await main();
