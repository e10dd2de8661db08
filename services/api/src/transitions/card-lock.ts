import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '@afc/postgres';
import type { RedisClient } from '@afc/redis';

export interface CardLockOptions {
  // Longer than the guarded work can take (it holds at most two Marqeta attempts): a holder
  // that died frees the card after this.
  readonly ttl_ms: number;
  // How long a second transition of the card waits for the first before giving up.
  readonly wait_timeout_ms: number;
}

// Another transition of the card held the lock past wait_timeout_ms.
export class CardBusyError extends Error {
  readonly code = 'AFC_API_CARD_BUSY';
}

// Deletes the lock only if it is still ours (it may have expired and been taken since).
const release_script = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

const min_backoff_ms = 10;
const max_backoff_ms = 250;

// One holder at a time per card across every API instance, in Redis rather than PostgreSQL: a
// PostgreSQL lock would pin a pooled connection while the guarded work needs others from the
// same pool (the personal store's twin, the write-through's read), so enough concurrent
// transitions would wait on each other forever.
export async function withCardLock<T>(
  redis: RedisClient,
  card_token: string,
  options: CardLockOptions,
  work: () => Promise<T>,
): Promise<T> {
  const key = `card-transition-lock:${card_token}`;
  const owner = randomUUID();
  const deadline_ms = Date.now() + options.wait_timeout_ms;
  for (let attempt = 0; ; attempt += 1) {
    if ((await redis.set(key, owner, 'PX', options.ttl_ms, 'NX')) === 'OK') break;
    const left_ms = deadline_ms - Date.now();
    if (left_ms <= 0) throw new CardBusyError(`card ${card_token} is being transitioned by another request`);
    // Exponential with jitter, bounded, never past the deadline.
    const delay_ms = backoffDelay(attempt + 1, {
      base_delay_ms: min_backoff_ms,
      max_delay_ms: max_backoff_ms,
    });
    await sleep(Math.min(left_ms, delay_ms));
  }
  try {
    return await work();
  } finally {
    // A release that fails (Redis away) must not turn done work into an error: the lease ends
    // the lock by itself.
    await redis.eval(release_script, 1, key, owner).catch(() => undefined);
  }
}
