import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { tokenConflict } from './errors.ts';
import type { Stored } from './state.ts';

export interface CreateResult<T> {
  readonly object: T;
  readonly created: boolean;
}

// Creates a resource under a client-chosen (or generated) token. Marqeta lets a create with
// the same token be repeated safely: the same content answers the stored object, different
// content is a conflict. The comparison ignores key order.
export function createOnce<T>(
  store: Map<string, Stored<T>>,
  what: string,
  request: { readonly token?: string | undefined },
  build: (token: string) => T,
): CreateResult<T> {
  const token = request.token ?? randomUUID();
  const existing = store.get(token);
  if (existing !== undefined) {
    if (!isDeepStrictEqual(existing.request, request)) throw tokenConflict(what, token);
    return { object: existing.object, created: false };
  }
  const object = build(token);
  store.set(token, { request: structuredClone(request), object });
  return { object, created: true };
}

export function nowIso(): string {
  // Marqeta shows times to the second, in UTC.
  return `${new Date().toISOString().slice(0, 19)}Z`;
}
