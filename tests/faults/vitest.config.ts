import { afcProject } from '../../vitest.project.ts';

// Each drill starts the services, runs traffic through a fault and waits for recovery: a wider
// bound than a unit's, still well under a minute per file.
export default afcProject('faults', { testTimeout: 60_000, hookTimeout: 60_000 });
