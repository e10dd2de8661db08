import { readFileSync } from 'node:fs';
import type { TObject } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import {
  describeConfig,
  renderConfigTable,
  secret_default_text,
  service_config_schemas,
} from '../src/index.ts';
import { readme_path, table_end_marker, table_start_marker } from './readme-markers.ts';

const schemas: Record<string, TObject> = service_config_schemas;

function secretDefaults(): string[] {
  const values: string[] = [];
  for (const schema of Object.values(schemas)) {
    for (const property of Object.values(schema.properties)) {
      if (property.secret === true && typeof property.default === 'string') values.push(property.default);
    }
  }
  return values;
}

describe('describeConfig', () => {
  it('describes every variable, with secrets shown only as such', () => {
    for (const [service, schema] of Object.entries(schemas)) {
      const rows = describeConfig(schema);
      expect(rows.map((row) => row.name)).toEqual(Object.keys(schema.properties));
      for (const row of rows) {
        expect(row.description.length, `${service} ${row.name}`).toBeGreaterThan(10);
        expect(row.type.length, `${service} ${row.name}`).toBeGreaterThan(5);
        if (row.secret) expect([secret_default_text, undefined]).toContain(row.default);
      }
    }
    const authorizer = describeConfig(schemas.authorizer as TObject);
    expect(authorizer.find((row) => row.name === 'JIT_BASIC_PASSWORD')).toMatchObject({
      secret: true,
      required: false,
      default: secret_default_text,
    });
    expect(authorizer.find((row) => row.name === 'MONGODB_URI')).not.toHaveProperty('default');
    expect(authorizer.find((row) => row.name === 'AMQP_URL')?.default).toBe(
      'amqp://guest:***@127.0.0.1:5672',
    );
  });
});

describe('renderConfigTable', () => {
  const table = renderConfigTable(schemas);
  // Cells of the body rows; escaped pipes (\|) inside cells never read as " | ".
  const rows = table
    .trimEnd()
    .split('\n')
    .slice(2)
    .map((row) =>
      row
        .slice(2, -2)
        .split(' | ')
        .map((text) => text.trim()),
    );

  it('lists every variable of every schema once, sorted, with its services', () => {
    const expected = new Map<string, string[]>();
    for (const service of Object.keys(schemas).sort()) {
      for (const name of Object.keys((schemas[service] as TObject).properties)) {
        expected.set(name, [...(expected.get(name) ?? []), service]);
      }
    }
    expect(rows.map((cells) => cells[0])).toEqual([...expected.keys()].sort().map((name) => `\`${name}\``));
    for (const [variable, services, ...rest] of rows) {
      expect(rest, variable).toHaveLength(2);
      expect(services, variable).toBe(expected.get(variable?.slice(1, -1) ?? '')?.join(', '));
    }
  });

  it('is the same whatever order the services are given in', () => {
    const reversed = Object.fromEntries(Object.entries(schemas).reverse());
    expect(renderConfigTable(reversed)).toBe(table);
  });

  it('shows per-service defaults and never a secret value or a URL password', () => {
    expect(rows.find((cells) => cells[0] === '`PORT`')?.[2]).toBe(
      '`3000` (api), `3001` (authorizer), `3004` (card-issuer), `4010` (marqeta-sim), `3003` (settlement), `3002` (webhooks)',
    );
    expect(table).toContain('`amqp://guest:***@127.0.0.1:5672`');
    expect(table).not.toContain('guest:guest');
    const secrets = secretDefaults();
    expect(secrets.length).toBeGreaterThanOrEqual(6);
    for (const secret of secrets) expect(table).not.toContain(secret);
  });

  it('matches the table embedded in the README', () => {
    const readme = readFileSync(readme_path, 'utf8');
    const start = readme.indexOf(table_start_marker) + table_start_marker.length + 1;
    const embedded = readme.slice(start, readme.indexOf(table_end_marker));
    // On failure: pnpm --filter @afc/config readme
    expect(embedded).toBe(table);
  });
});
