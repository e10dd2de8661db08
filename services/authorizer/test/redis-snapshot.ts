import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';

// A digest of every key under a prefix and its serialized value (for streams: the last entry
// ever added): equal digests mean a request changed nothing in Redis.
export async function redisSnapshot(url: string, prefix: string): Promise<string> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    // SCAN may return a key twice (when the table is resized meanwhile): count each once.
    const unique = [...new Set(keys)].sort();
    const hash = createHash('sha256');
    for (const key of unique) {
      hash.update(key);
      if ((await redis.type(key)) === 'stream') {
        // The relay's polling changes a stream's consumer-group metadata; what a request could
        // change is which entries were ever added.
        const info = (await redis.xinfo('STREAM', key)) as unknown[];
        hash.update(String(info[info.indexOf('last-generated-id') + 1]));
      } else {
        hash.update((await redis.dumpBuffer(key)) ?? Buffer.alloc(0));
      }
    }
    return `${unique.length}:${hash.digest('hex')}`;
  } finally {
    redis.disconnect();
  }
}
