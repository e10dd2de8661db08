import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@afc/source'] },
  ssr: { resolve: { conditions: ['@afc/source'] } },
  test: { name: 'postgres', include: ['test/**/*.test.ts', 'src/**/*.test.ts'] },
});
