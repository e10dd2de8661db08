import { fileURLToPath } from 'node:url';

// The table lives in the root README (one place for a newcomer to look).
// Shared by the README test and the script that rewrites the table, so both agree on where
// the generated part lives.
export const readme_path = fileURLToPath(new URL('../../../README.md', import.meta.url));
export const table_start_marker = '<!-- config-table:start (generated: pnpm --filter @afc/config readme) -->';
export const table_end_marker = '<!-- config-table:end -->';
