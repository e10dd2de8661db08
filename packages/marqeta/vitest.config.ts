import { fileURLToPath } from 'node:url';
import { mergeConfig } from 'vitest/config';
import { afcProject } from '../../vitest.project.ts';

// The simulator depends on this package (schemas, buildJitRequest): declaring it back as a
// devDependency would make a package cycle that stops `turbo run build`. The tests reach its
// public entry (what the @afc/source condition resolves it to) through an alias instead.
const marqeta_sim = fileURLToPath(new URL('../../tools/marqeta-sim/src/index.ts', import.meta.url));

export default mergeConfig(afcProject('marqeta'), {
  resolve: { alias: { '@afc/marqeta-sim': marqeta_sim } },
});
