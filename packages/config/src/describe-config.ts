import { KindGuard, type TObject, type TSchema } from '@sinclair/typebox';
import { expectation } from './expectation.ts';
import { isSecret, printableValue } from './schema-options.ts';

export interface ConfigRow {
  readonly name: string;
  // What the variable accepts, in words ("an integer from 1 to 1000").
  readonly type: string;
  // Printable default: "(secret, local default)" for secrets, URLs without their password;
  // absent when the variable has no default.
  readonly default?: string;
  readonly required: boolean;
  readonly secret: boolean;
  readonly description: string;
}

export const secret_default_text = '(secret, local default)';

function printableDefault(schema: TSchema): string | undefined {
  if (schema.default === undefined) return undefined;
  if (isSecret(schema)) return secret_default_text;
  return printableValue(schema, String(schema.default)) ?? '(hidden)';
}

export function describeConfig(schema: TObject): ConfigRow[] {
  return Object.entries(schema.properties).map(([name, property]) => {
    const default_text = printableDefault(property);
    const row = {
      name,
      type: expectation(property),
      required: default_text === undefined && !KindGuard.IsOptional(property),
      secret: isSecret(property),
      description: typeof property.description === 'string' ? property.description : '',
    };
    return default_text === undefined ? row : { ...row, default: default_text };
  });
}

interface TableEntry {
  readonly services: string[];
  readonly defaults: Map<string, string>;
  readonly details: Set<string>;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function defaultCell(row: ConfigRow): string {
  if (row.default !== undefined)
    return row.default === secret_default_text ? row.default : `\`${row.default}\``;
  return row.required ? 'required' : 'unset';
}

// Per-service defaults (PORT) are listed per service; identical ones once.
function defaultsCell(entry: TableEntry): string {
  const distinct = new Set(entry.defaults.values());
  if (distinct.size === 1) return [...distinct][0] ?? '';
  return [...entry.defaults].map(([service, text]) => `${text} (${service})`).join(', ');
}

function collect(services: Readonly<Record<string, TObject>>): Map<string, TableEntry> {
  const entries = new Map<string, TableEntry>();
  for (const service of Object.keys(services).sort(compare)) {
    for (const row of describeConfig(services[service] as TObject)) {
      const entry: TableEntry = entries.get(row.name) ?? {
        services: [],
        defaults: new Map(),
        details: new Set(),
      };
      entry.services.push(service);
      entry.defaults.set(service, defaultCell(row));
      entry.details.add(`${row.description} Accepts ${row.type}.`);
      entries.set(row.name, entry);
    }
  }
  return entries;
}

// Columns padded to their widest cell, as biome formats markdown tables, so formatting the
// README leaves the generated table byte for byte as rendered.
function alignedTable(header: readonly string[], body: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(3, title.length, ...body.map((cells) => (cells[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((text, column) => text.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  const rule = `| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`;
  return `${[line(header), rule, ...body.map(line)].join('\n')}\n`;
}

// Deterministic (sorted by variable, then service) so the README can embed it and a test can
// compare byte for byte.
export function renderConfigTable(services: Readonly<Record<string, TObject>>): string {
  const entries = collect(services);
  const body = [...entries.keys()].sort(compare).map((name) => {
    const entry = entries.get(name) as TableEntry;
    const cells = [
      `\`${name}\``,
      entry.services.join(', '),
      defaultsCell(entry),
      [...entry.details].join(' / '),
    ];
    return cells.map(cell);
  });
  return alignedTable(['Variable', 'Services', 'Default', 'Description'], body);
}
