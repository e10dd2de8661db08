import { Type } from '@sinclair/typebox';
import { uuid_pattern } from '../schemas.ts';

// Opaque to clients (base64url of JSON), checked strictly on the way back in: a cursor is
// input like any other and a malformed one is a 400, never a query error.
const timestamp_pattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export interface Cursor {
  readonly created_at: string;
  readonly id: string;
}

export function encodeCursor(created_at: string, id: string): string {
  return Buffer.from(JSON.stringify([created_at, id]), 'utf8').toString('base64url');
}

export function decodeCursor(text: string): Cursor | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) return undefined;
  const [created_at, id] = parsed as unknown[];
  if (typeof created_at !== 'string' || !timestamp_pattern.test(created_at)) return undefined;
  if (typeof id !== 'string' || !uuid_pattern.test(id)) return undefined;
  if (Number.isNaN(Date.parse(created_at))) return undefined;
  return { created_at, id };
}

// The querystring of every paged route: `limit` up to the store's or the index's bound.
export function pageQuery(max_limit: number) {
  return Type.Object(
    {
      limit: Type.Integer({ minimum: 1, maximum: max_limit, default: 50 }),
      cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' })),
    },
    { additionalProperties: false },
  );
}

export const bad_cursor = {
  error: 'bad_request',
  message: 'invalid querystring.cursor: not a cursor this API returned',
  fields: ['querystring.cursor'],
};
