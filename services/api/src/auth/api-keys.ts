import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Sql } from '@afc/postgres';

// Who is calling: the platform administrator (API_ADMIN_KEY, or an api_keys row without a
// company) or one company. Only the key's prefix is ever logged; for API_ADMIN_KEY a fixed label
// instead: it is an operator's text of 20 characters or more, and 12 of them would be most of it.
export type Principal =
  | { readonly kind: 'admin'; readonly key_prefix: string }
  | { readonly kind: 'company'; readonly company_id: string; readonly key_prefix: string };

const key_prefix_length = 12;
const configured_admin_label = 'API_ADMIN_KEY';

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function keyPrefix(key: string): string {
  return key.slice(0, key_prefix_length);
}

// 32 random bytes: unguessable, and the "afc_" marker lets secret scanners find leaked keys.
export function generateKey(): { key: string; key_hash: string; key_prefix: string } {
  const key = `afc_${randomBytes(32).toString('base64url')}`;
  return { key, key_hash: hashKey(key), key_prefix: keyPrefix(key) };
}

// "Bearer <key>" or the bare key in x-api-key.
export function presentedKey(authorization: unknown, x_api_key: unknown): string | undefined {
  if (typeof authorization === 'string') {
    const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(authorization);
    return match?.[1];
  }
  if (typeof x_api_key === 'string' && /^[\x21-\x7e]{1,512}$/.test(x_api_key)) return x_api_key;
  return undefined;
}

export class KeyAuthenticator {
  readonly #sql: Sql;
  readonly #admin_hash: Buffer;

  constructor(sql: Sql, admin_key: string) {
    this.#sql = sql;
    this.#admin_hash = Buffer.from(hashKey(admin_key), 'hex');
  }

  async authenticate(key: string): Promise<Principal | undefined> {
    const key_hash = hashKey(key);
    // Comparing hashes of equal length in constant time: the admin key's length leaks nothing.
    if (timingSafeEqual(Buffer.from(key_hash, 'hex'), this.#admin_hash)) {
      return { kind: 'admin', key_prefix: configured_admin_label };
    }
    // A lookup by a sha256 of a high-entropy key needs no constant-time comparison: the index
    // reveals nothing usable about other keys' hashes.
    const [row] = await this.#sql<{ company_id: string | null; company_status: string | null }[]>`
      select k.company_id, c.status as company_status
      from api_keys k left join companies c on c.id = k.company_id
      where k.key_hash = ${key_hash} and k.revoked_at is null`;
    if (row === undefined) return undefined;
    if (row.company_id === null) return { kind: 'admin', key_prefix: keyPrefix(key) };
    if (row.company_status !== 'active') return undefined;
    return { kind: 'company', company_id: row.company_id, key_prefix: keyPrefix(key) };
  }
}
