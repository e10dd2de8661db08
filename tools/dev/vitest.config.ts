import { afcProject } from '../../vitest.project.ts';

// The whole platform starts in-process per file: the e2e bounds.
export default afcProject('dev', { testTimeout: 90_000, hookTimeout: 60_000 });
