import type { Static, TObject } from '@sinclair/typebox';
import { isSecret } from './schema-options.ts';

// Secrets whose value is still the public local default of the schema. There is no
// environment switch to tell a laptop from a deployment, so services log each of these loudly
// at boot: a deployment that forgot one is told, a developer machine is not stopped.
export function localDefaultSecrets<S extends TObject>(schema: S, config: Static<S>): string[] {
  const values = config as Record<string, unknown>;
  return Object.entries(schema.properties)
    .filter(
      ([name, property]) =>
        isSecret(property) && property.default !== undefined && values[name] === property.default,
    )
    .map(([name]) => name)
    .sort();
}
