import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@afc/source'] },
  test: { name: 'marqeta', include: ['test/**/*.test.ts', 'src/**/*.test.ts'] },
});
