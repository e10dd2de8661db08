import assert from 'node:assert/strict';
import { KindGuard, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { InvalidConfigError } from './errors.ts';
import { expectation } from './expectation.ts';
import { type ConfigIssue, config_issue_codes, formatConfigIssues } from './issues.ts';
import { printableValue } from './schema-options.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export type ConfigResult<Config> =
  | { readonly ok: true; readonly config: Config }
  | { readonly ok: false; readonly errors: readonly ConfigIssue[] };

// sysexits.h EX_CONFIG: supervisors can tell a configuration error from a crash.
export const config_exit_code = 78;

// An empty value counts as unset, as `FOO=` in an env file or compose file means "no value".
function pickVariables(schema: TObject, env: Env): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of Object.keys(schema.properties)) {
    const text = env[name];
    if (text !== undefined && text !== '') picked[name] = text;
  }
  return picked;
}

function invalid(name: string, schema: TSchema, text: string | undefined): ConfigIssue {
  const message = `expected ${expectation(schema)}`;
  const value = text === undefined ? undefined : printableValue(schema, text);
  return value === undefined
    ? { code: config_issue_codes.invalid_value, name, message }
    : { code: config_issue_codes.invalid_value, name, message, value };
}

function checkVariable(
  name: string,
  schema: TSchema,
  text: string | undefined,
  value: unknown,
): ConfigIssue | undefined {
  if (value === undefined) {
    if (KindGuard.IsOptional(schema)) return undefined;
    return { code: config_issue_codes.missing, name, message: 'is required but not set' };
  }
  // TypeBox's conversion is lenient ("3000.5" -> 3000, "1e3" -> 1, "0x10" -> 16, "true" -> 1):
  // a converted value must print back as exactly the text it came from.
  if (text !== undefined && typeof value !== 'string' && String(value) !== text) {
    return invalid(name, schema, text);
  }
  return Value.Check(schema, value) ? undefined : invalid(name, schema, text);
}

// Variables that only make sense together: a partner set alone is reported on the missing one.
function checkGroups(schema: TObject, config: Record<string, unknown>): ConfigIssue[] {
  const issues = new Map<string, ConfigIssue>();
  for (const [name, property] of Object.entries(schema.properties)) {
    const partners: unknown = property.set_together_with;
    if (!Array.isArray(partners) || config[name] === undefined) continue;
    for (const partner of partners) {
      assert.ok(typeof partner === 'string' && partner in schema.properties, `unknown partner ${partner}`);
      if (config[partner] !== undefined || issues.has(partner)) continue;
      issues.set(partner, {
        code: config_issue_codes.incomplete_group,
        name: partner,
        message: `must be set when ${name} is set`,
      });
    }
  }
  return [...issues.values()];
}

export function loadConfig<Schema extends TObject>(
  schema: Schema,
  env: Env = process.env,
): ConfigResult<Static<Schema>> {
  const raw = pickVariables(schema, env);
  const config = Value.Convert(schema, Value.Default(schema, { ...raw })) as Record<string, unknown>;
  const issues: ConfigIssue[] = [];
  for (const [name, property] of Object.entries(schema.properties)) {
    const issue = checkVariable(name, property, raw[name], config[name]);
    if (issue !== undefined) issues.push(issue);
  }
  issues.push(...checkGroups(schema, config));
  if (issues.length > 0) return { ok: false, errors: issues };
  assert.ok(Value.Check(schema, config), 'a config without issues must match its schema');
  return { ok: true, config: config as Static<Schema> };
}

export function loadConfigOrThrow<Schema extends TObject>(
  schema: Schema,
  service_name: string,
  env: Env = process.env,
): Static<Schema> {
  const result = loadConfig(schema, env);
  if (result.ok) return result.config;
  throw new InvalidConfigError(formatConfigIssues(service_name, result.errors), result.errors);
}

// For a process entry point: a bad environment stops it before it touches anything.
export function loadConfigOrExit<Schema extends TObject>(
  schema: Schema,
  service_name: string,
  env: Env = process.env,
): Static<Schema> {
  const result = loadConfig(schema, env);
  if (result.ok) return result.config;
  process.stderr.write(`${formatConfigIssues(service_name, result.errors)}\n`);
  return process.exit(config_exit_code);
}
