import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@afc/source'] },
  test: { name: 'personal-store', include: ['test/**/*.test.ts', 'src/**/*.test.ts'] },
});
