import { Type } from '@sinclair/typebox';

// A UUID in lower case, as PostgreSQL writes them: the schema below, cursors, message ids.
export const uuid_pattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// Patterns rather than formats: the validator and the OpenAPI document say exactly the same.
export const Uuid = Type.String({
  pattern: uuid_pattern.source,
  description: 'A UUID in lower case.',
});
export const Token = Type.String({ pattern: '^[A-Za-z0-9._-]{1,36}$' });
export const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 alphabetic code.' });
export const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' });
export const Email = Type.String({ maxLength: 320, pattern: '^[^@\\s]+@[^@\\s]+$' });
export const Timestamp = Type.String({ description: 'ISO 8601, UTC.' });
export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });

export const ErrorBody = Type.Object({
  error: Type.String(),
  message: Type.Optional(Type.String()),
  fields: Type.Optional(Type.Array(Type.String())),
  request_id: Type.Optional(Type.String()),
});

// The errors every authenticated route can answer, for the OpenAPI document.
export const error_responses = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  429: ErrorBody,
} as const;

export const security = [{ apiKey: [] }];

export function toIso(value: Date): string {
  return value.toISOString();
}
