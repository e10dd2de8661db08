import { afcProject } from '../../vitest.project.ts';

// Four services and the simulator start per file: a wider bound than a unit's.
export default afcProject('e2e', { testTimeout: 60_000, hookTimeout: 60_000 });
