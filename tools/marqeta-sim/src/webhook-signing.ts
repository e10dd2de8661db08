import { createHmac } from 'node:crypto';
import type { SignatureAlgorithm } from './state.ts';

export const signature_header = 'x-marqeta-signature';

const hashes: Readonly<Record<SignatureAlgorithm, string>> = { HMAC_SHA_256: 'sha256', HMAC_SHA_1: 'sha1' };

// The hex HMAC of the exact bytes sent, keyed with the webhook's secret.
export function signBody(body: string, secret: string, algorithm: SignatureAlgorithm): string {
  return createHmac(hashes[algorithm], secret).update(body, 'utf8').digest('hex');
}
