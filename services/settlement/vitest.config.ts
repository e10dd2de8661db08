import { afcProject } from '../../vitest.project.ts';

export default afcProject('settlement');
