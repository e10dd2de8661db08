// The seed's memory between starts: a JSON file per database and Redis prefix under the
// git-ignored .local/ folder. It holds the demo company's API key (a local demo secret, shown
// by `npm start` anyway); the api stores only its hash.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Platform } from './platform.ts';
import type { SeedState, SeedStore } from './seed.ts';

export const local_directory = '.local';

export function seedFilePath(root: string, platform: Platform): string {
  const where = createHash('sha256')
    .update(`${platform.database_url}\n${platform.redis.key_prefix}`)
    .digest('hex')
    .slice(0, 12);
  return join(root, local_directory, `demo-seed-${where}.json`);
}

export function fileSeedStore(root: string, platform: Platform): SeedStore {
  const path = seedFilePath(root, platform);
  return {
    load: () => readSeedFile(path),
    save: (state) => {
      mkdirSync(join(root, local_directory), { recursive: true });
      // Written whole then renamed: a crash never leaves half a file behind.
      writeFileSync(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
      renameSync(`${path}.tmp`, path);
    },
  };
}

export function readSeedFile(path: string): SeedState | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const parsed = JSON.parse(text) as SeedState;
  return { ...parsed, employees: parsed.employees ?? {}, cards: parsed.cards ?? {} };
}
