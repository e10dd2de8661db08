import { Redis } from 'ioredis';
import { localServiceUrls } from './local-service-urls.ts';
import { uniqueTestId } from './unique-test-id.ts';

export interface TestRedisPrefix {
  // Ends with ':' and holds no braces, so a `{p}` hash tag after it still picks the slot.
  readonly prefix: string;
  // Deletes every key under the prefix.
  cleanup(): Promise<void>;
}

export function createTestRedisPrefix(): TestRedisPrefix {
  const prefix = `${uniqueTestId('t')}:`;
  return {
    prefix,
    async cleanup() {
      const redis = new Redis(localServiceUrls.redis, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await redis.connect();
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) await redis.unlink(...keys);
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  };
}
