import assert from 'node:assert/strict';
import { createHash, timingSafeEqual } from 'node:crypto';

export interface JitCredentials {
  readonly username: string;
  readonly password: string;
  // Marqeta can send up to three custom headers; we check one when configured.
  readonly custom_header?: { readonly name: string; readonly value: string };
}

export type HeaderValue = string | string[] | undefined;

export type JitAuthenticator = (authorization: HeaderValue, custom_header_value: HeaderValue) => boolean;

// Digests make both sides the same length, so the comparison time says nothing about how much
// of a guess was right, nor about the secret's length. The expected side is hashed once, at
// start: a request costs one digest per checked value.
function digest(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest();
}

const nothing = Buffer.alloc(0);

// The decoded `username:password` bytes of a Basic header, or undefined when it is not one.
function basicCredentials(header: HeaderValue): Buffer | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^Basic ([A-Za-z0-9+/=]{1,1024})$/i.exec(header.trim());
  if (match?.[1] === undefined) return undefined;
  const decoded = Buffer.from(match[1], 'base64');
  return decoded.indexOf(0x3a) > 0 ? decoded : undefined;
}

// Compares the whole `username:password` at once: equal bytes mean the same username and the
// same password, since a username holds no colon (RFC 7617; checked here). Every check runs
// whatever the earlier ones said, so a wrong username costs the same time as a wrong password
// or a missing custom header.
export function jitAuthenticator(credentials: JitCredentials): JitAuthenticator {
  assert.ok(credentials.username.length > 0 && !credentials.username.includes(':'), 'Basic username');
  const expected = digest(Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8'));
  const custom = credentials.custom_header;
  const expected_header = custom === undefined ? undefined : digest(Buffer.from(custom.value, 'utf8'));
  return (authorization, custom_header_value) => {
    const given = basicCredentials(authorization);
    const credentials_ok = timingSafeEqual(digest(given ?? nothing), expected);
    let header_ok = true;
    if (expected_header !== undefined) {
      const value = typeof custom_header_value === 'string' ? custom_header_value : '';
      header_ok = timingSafeEqual(digest(Buffer.from(value, 'utf8')), expected_header);
    }
    return given !== undefined && credentials_ok && header_ok;
  };
}
