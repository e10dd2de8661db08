import { afcProject } from '../vitest.project.ts';

// The pure parts of the benchmarks (chart, reports, traffic); the benchmarks are not tests.
export default afcProject('bench');
