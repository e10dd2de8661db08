import { redactUrl } from '@afc/log';
import { FormatRegistry, type TLiteral, type TSchema, Type } from '@sinclair/typebox';

// Options our schemas carry beside the JSON Schema keywords. TypeBox keeps unknown options on
// the schema object, so every consumer (loader, describer) reads them from there.
export interface VariableOptions {
  readonly description: string;
  // The value never appears in an error, a description or a table.
  readonly secret?: true;
  // The value may carry a password in its userinfo (amqp://user:pass@host): shown only redacted.
  readonly url_credentials?: true;
  // What a pattern or format expects, in words, for error messages.
  readonly expected?: string;
  // Variables that must be set together with this one (all or none).
  readonly set_together_with?: readonly string[];
}

export function isSecret(schema: TSchema): boolean {
  return schema.secret === true;
}

// The form of a value that may be printed: undefined when nothing of it may be shown.
export function printableValue(schema: TSchema, value: string): string | undefined {
  if (isSecret(schema)) return undefined;
  if (schema.url_credentials !== true) return value;
  // An unparseable URL may still hold a password somewhere we cannot locate.
  if (!URL.canParse(value)) return undefined;
  // Shown as given when there is nothing to hide; redactUrl normalises what it rewrites.
  return new URL(value).password === '' ? value : redactUrl(value);
}

// Formats are registered once per process in TypeBox's global registry; the names are
// namespaced so another package's formats cannot collide with ours.
function registerUrlFormat(name: string, protocols: readonly string[]): void {
  if (FormatRegistry.Has(name)) return;
  FormatRegistry.Set(name, (value) => {
    if (!URL.canParse(value)) return false;
    const url = new URL(value);
    return protocols.includes(url.protocol) && url.hostname !== '';
  });
}

export function urlString(protocols: readonly string[], options: VariableOptions & { default?: string }) {
  const names = protocols.map((protocol) => protocol.replace(/:$/, ''));
  const format = `afc-url-${names.join('-')}`;
  registerUrlFormat(format, protocols);
  return Type.String({
    format,
    url_credentials: true,
    expected: `a URL starting with ${names.map((name) => `${name}://`).join(' or ')} with a host`,
    ...options,
  });
}

export function integer(minimum: number, maximum: number, default_value: number, description: string) {
  return Type.Integer({ minimum, maximum, default: default_value, description });
}

export function oneOf<const Values extends readonly [string, ...string[]]>(
  values: Values,
  default_value: Values[number],
  description: string,
) {
  const literals: TLiteral<Values[number]>[] = values.map((value) => Type.Literal(value));
  return Type.Union(literals, { default: default_value, description });
}
