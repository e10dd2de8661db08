import { type TLiteral, type TSchema, type TUnion, Type } from '@sinclair/typebox';

// Tokens become parts of Redis keys and database keys: a safe charset keeps a hostile token
// from forging a hash tag (`{`), a key separator or a log line. Marqeta's own tokens and the
// ones we choose fit it.
export const token_pattern = '^[A-Za-z0-9._-]{1,100}$';
export const MarqetaToken = Type.String({ pattern: token_pattern, description: 'Marqeta token' });

// Marqeta sends amounts in major units, as JSON numbers (1.91) or strings ("1.00"). They are
// converted exactly by @afc/money; the schema only says which JSON types are acceptable.
export const MarqetaAmount = Type.Union([Type.Number(), Type.String({ minLength: 1, maxLength: 40 })], {
  description: 'amount in major units, number or decimal string',
});

export const Mcc = Type.String({ pattern: '^[0-9]{4}$' });
export const CountryCode = Type.String({ pattern: '^[A-Za-z]{2,3}$' });
export const CurrencyCode = Type.String({ pattern: '^([A-Za-z]{3}|[0-9]{3})$' });

// Marqeta adds fields over time; we name what we read and tolerate the rest.
export function Tolerant<T extends Parameters<typeof Type.Object>[0]>(properties: T) {
  return Type.Object(properties, { additionalProperties: true });
}

// A union of string literals, named once each (Static gives the same union of string types).
export function literals<const T extends readonly string[]>(values: T): TUnion<TLiteral<T[number]>[]> {
  return Type.Union(values.map((value) => Type.Literal(value)));
}

export type { TSchema };
