import { defineConfig } from 'vitest/config';

// One run over every workspace project, one summary. Each project keeps its own config
// (name, include) so `pnpm --filter X test` and the root run see the same tests.
export default defineConfig({
  test: {
    // The fault drills run on their own (`pnpm test:faults`, a step of CI before this run): their
    // floods, cuts and process restarts would disturb the timing of tests running beside them.
    projects: ['packages/*', 'services/*', 'tools/*', 'tests/*', '!tests/faults', 'bench'],
    // Two cores here: one worker per core; integration tests share the local services.
    pool: 'forks',
    maxWorkers: 2,
    minWorkers: 1,
    // A test waiting on a broken service must fail, never hang CI.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', './tools/dev/src/summary-reporter.ts'],
  },
});
