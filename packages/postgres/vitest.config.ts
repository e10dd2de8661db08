import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@afc/source'] },
  // Vite resolves test imports in SSR mode: workspace packages need the source condition there too.
  ssr: { resolve: { conditions: ['@afc/source'] } },
  test: {
    name: 'postgres',
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // A project file does not inherit the root config's bounds; the CLI test starts two Node
    // processes, which takes seconds on a loaded two-core machine. Same bounds as the root.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
