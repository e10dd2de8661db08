import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@afc/source'] },
  // Vite resolves test imports in SSR mode: workspace packages need the source condition there too.
  ssr: { resolve: { conditions: ['@afc/source'] } },
  test: { name: 'marqeta-sim', include: ['test/**/*.test.ts', 'src/**/*.test.ts'] },
});
