import assert from 'node:assert/strict';
import { createHash, timingSafeEqual } from 'node:crypto';

export interface BasicCredentials {
  readonly username: string;
  readonly password: string;
}

export type HeaderValue = string | string[] | undefined;

// Digests make both sides the same length, so the comparison time says nothing about how much
// of a guess was right, nor about the secret's length (the authorizer's approach).
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

// One comparison of the whole `username:password` against a digest computed once at start:
// a username holds no colon (RFC 7617; asserted), so equal bytes mean both parts are right.
export function basicAuthenticator(credentials: BasicCredentials): (authorization: HeaderValue) => boolean {
  assert.ok(credentials.username.length > 0 && !credentials.username.includes(':'), 'Basic username');
  assert.ok(credentials.password.length > 0, 'Basic password');
  const expected = digest(Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8'));
  return (authorization) => {
    const given = basicCredentials(authorization);
    // Compared even when the header is unusable: the time does not tell which check failed.
    const equal = timingSafeEqual(digest(given ?? nothing), expected);
    return given !== undefined && equal;
  };
}
