import { KindGuard, type TSchema } from '@sinclair/typebox';

function lengthPhrase(schema: TSchema): string | undefined {
  const min = typeof schema.minLength === 'number' ? schema.minLength : undefined;
  const max = typeof schema.maxLength === 'number' ? schema.maxLength : undefined;
  if (min !== undefined && max !== undefined) return `${min} to ${max} characters`;
  if (max !== undefined) return `at most ${max} characters`;
  if (min !== undefined && min > 1) return `at least ${min} characters`;
  return undefined;
}

// What a variable accepts, in words. Errors say "expected <this>" and the README's table shows
// it, so a reader sees the same rule in both places; TypeBox decides validity, this only words it.
export function expectation(schema: TSchema): string {
  if (KindGuard.IsInteger(schema)) {
    return `an integer from ${String(schema.minimum)} to ${String(schema.maximum)}`;
  }
  if (KindGuard.IsUnion(schema) && schema.anyOf.every((member) => KindGuard.IsLiteral(member))) {
    return `one of ${schema.anyOf.map((member) => String(member.const)).join(', ')}`;
  }
  if (KindGuard.IsString(schema)) {
    const length = lengthPhrase(schema);
    const expected = typeof schema.expected === 'string' ? schema.expected : undefined;
    if (expected !== undefined && length !== undefined) return `${expected} (${length})`;
    return expected ?? (length === undefined ? 'non-empty text' : `text of ${length}`);
  }
  return 'a valid value';
}
