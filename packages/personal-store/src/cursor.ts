import { PersonalInvalidInputError } from './errors.ts';

export interface CursorPosition {
  readonly created_at: Date;
  readonly jit_token: string;
}

// Opaque to callers: base64url of the last item's (created_at, jit_token). Both backends
// order by the same pair, so a cursor is stable whichever backend made it.
export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.created_at.getTime(), position.jit_token])).toString(
    'base64url',
  );
}

export function decodeCursor(cursor: string): CursorPosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new PersonalInvalidInputError('cursor is not one this store made');
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    !Number.isSafeInteger(parsed[0]) ||
    typeof parsed[1] !== 'string'
  ) {
    throw new PersonalInvalidInputError('cursor is not one this store made');
  }
  return { created_at: new Date(parsed[0] as number), jit_token: parsed[1] };
}

// Fetch limit + 1 rows to know whether another page exists without a count.
export function toPage<T extends CursorPosition>(
  rows: readonly T[],
  limit: number,
): { items: T[]; next_cursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, next_cursor: rows.length > limit && last !== undefined ? encodeCursor(last) : null };
}
