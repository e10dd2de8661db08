import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@afc/source'] },
  // Vite resolves test imports in SSR mode: workspace packages need the source condition there too.
  ssr: { resolve: { conditions: ['@afc/source'] } },
  test: {
    name: 'service-kit',
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // Bounds only: child processes start slowly on a loaded two-core machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
