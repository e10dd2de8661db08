import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@afc/log';
import { localServiceUrls } from '@afc/testkit';
import {
  type CreateRedisOptions,
  closeRedis,
  createRedis,
  type RedisClient,
  type UserKeyspace,
  waitReady,
} from '../src/index.ts';

// A logger whose lines the test can read.
export function captureLogger(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      raw.push(String(chunk));
      callback();
    },
  });
  const logger = createLogger({ name: 'redis-test', level: 'debug', destination });
  return { logger, lines: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

export const test_client_options = {
  command_timeout_ms: 5_000,
  max_retries_per_request: 1,
  connect_timeout_ms: 2_000,
} as const;

// A ready client on the shared Redis under the test file's prefix.
export async function readyClient(
  key_prefix: string,
  overrides: Partial<CreateRedisOptions> = {},
  logger: Logger = captureLogger().logger,
): Promise<RedisClient> {
  const client = createRedis(
    { url: localServiceUrls.redis, key_prefix, ...test_client_options, ...overrides } as CreateRedisOptions,
    logger,
  );
  await waitReady(client, 10_000);
  return client;
}

export async function closeAll(clients: readonly RedisClient[]): Promise<void> {
  await Promise.all(clients.map((client) => closeRedis(client, 2_000)));
}

// Redis Cluster's rule: the hash tag is what lies between the first '{' and the first '}'
// after it, if that is not empty; otherwise the whole key is hashed.
export function hashTagOf(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open === -1) return undefined;
  const close = key.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) return undefined;
  return key.slice(open + 1, close);
}

export function allKeys(keys: UserKeyspace, card_token: string, jit_token: string): string[] {
  const at = new Date(Date.UTC(2026, 0, 15, 12));
  return [
    keys.cardholderState,
    keys.outbox,
    keys.cardState(card_token),
    keys.cardControls(card_token),
    keys.cardLoaderLock(card_token),
    keys.cardCounter(card_token, 'day', at),
    keys.cardCounter(card_token, 'week', at),
    keys.cardCounter(card_token, 'month', at),
    keys.userCounter('day', at),
    keys.userCounter('month', at),
    keys.hold(jit_token),
    keys.decision(jit_token),
  ];
}
