import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { HeaderValue } from './basic-auth.ts';

export type SignatureAlgorithm = 'sha256' | 'sha1';

export const signature_header = 'x-marqeta-signature';

export type SignatureCheck = 'valid' | 'missing' | 'malformed' | 'mismatch';

// Hex digits of each digest: a header of any other length cannot be a signature.
const hex_length: Readonly<Record<SignatureAlgorithm, number>> = { sha256: 64, sha1: 40 };

// Marqeta signs the exact bytes it sends (hex HMAC, keyed with the webhook's secret): checked
// on the raw body before any parsing, so re-encoded JSON can never pass for the signed one.
export function signatureVerifier(
  secret: string,
  algorithm: SignatureAlgorithm,
): (raw: Buffer, header: HeaderValue) => SignatureCheck {
  assert.ok(secret.length > 0, 'signature secret');
  const length = hex_length[algorithm];
  const pattern = new RegExp(`^[0-9a-fA-F]{${length}}$`);
  return (raw, header) => {
    if (header === undefined) return 'missing';
    // A repeated header is refused: which copy would be the signature?
    if (typeof header !== 'string' || !pattern.test(header)) return 'malformed';
    const expected = createHmac(algorithm, secret).update(raw).digest();
    // Same length by construction (the pattern): timingSafeEqual compares every byte.
    return timingSafeEqual(Buffer.from(header, 'hex'), expected) ? 'valid' : 'mismatch';
  };
}
