import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@afc/source'] },
  test: { name: 'money', include: ['test/**/*.test.ts', 'src/**/*.test.ts'] },
});
