// Rewrites the variable table in README.md from the schemas: `pnpm --filter @afc/config readme`.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigTable, service_config_schemas } from '../src/index.ts';
import { readme_path, table_end_marker, table_start_marker } from '../test/readme-markers.ts';

const readme = readFileSync(readme_path, 'utf8');
const start = readme.indexOf(table_start_marker);
const end = readme.indexOf(table_end_marker);
if (start === -1 || end < start)
  throw new Error(`README.md lacks ${table_start_marker} ... ${table_end_marker}`);
const table = renderConfigTable(service_config_schemas);
const updated = `${readme.slice(0, start + table_start_marker.length)}\n${table}${readme.slice(end)}`;
writeFileSync(readme_path, updated);
process.stdout.write(updated === readme ? 'README.md already up to date\n' : 'README.md table rewritten\n');
