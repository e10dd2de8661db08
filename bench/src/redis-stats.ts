import { localServiceUrls } from '@afc/testkit';
import { Redis } from 'ioredis';

// Redis's own accounting of command time (INFO commandstats), differenced over a phase: what a
// decision costs inside Redis, apart from the wait for it. The Redis is shared, so other
// engineers' commands are in the totals too; the scripts' calls are ours.
export type CommandStats = ReadonlyMap<string, { readonly calls: number; readonly usec: number }>;

export async function commandStats(): Promise<CommandStats> {
  const redis = new Redis(localServiceUrls.redis, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
    commandTimeout: 5_000,
  });
  const stats = new Map<string, { calls: number; usec: number }>();
  try {
    await redis.connect();
    const text = await redis.info('commandstats');
    for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
      if (match[1] !== undefined) stats.set(match[1], { calls: Number(match[2]), usec: Number(match[3]) });
    }
  } finally {
    redis.disconnect();
  }
  return stats;
}

export interface CommandCost {
  readonly command: string;
  readonly calls: number;
  readonly total_ms: number;
  readonly usec_per_call: number;
}

// The commands that took most of Redis's time between two snapshots.
export function topCommands(after: CommandStats, before: CommandStats, limit: number): CommandCost[] {
  const costs: CommandCost[] = [];
  for (const [command, now] of after) {
    const then = before.get(command) ?? { calls: 0, usec: 0 };
    const calls = now.calls - then.calls;
    const usec = now.usec - then.usec;
    if (calls <= 0) continue;
    costs.push({
      command,
      calls,
      total_ms: Math.round(usec / 100) / 10,
      usec_per_call: Math.round((usec / calls) * 10) / 10,
    });
  }
  return costs.sort((a, b) => b.total_ms - a.total_ms).slice(0, limit);
}
