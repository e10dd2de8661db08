import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

// Every workspace project's vitest config: the same source condition (in client and SSR
// resolution: vitest resolves test imports in SSR mode) and the same bounds, since a project
// does not inherit the root config's timeouts.
export function afcProject(name: string, test: UserWorkspaceConfig['test'] = {}) {
  return defineProject({
    resolve: { conditions: ['@afc/source'] },
    ssr: { resolve: { conditions: ['@afc/source'] } },
    test: {
      name,
      include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
      // Bounds for a test waiting on a broken service, never a speed target.
      testTimeout: 30_000,
      hookTimeout: 30_000,
      ...test,
    },
  });
}
