import { createHash, timingSafeEqual } from 'node:crypto';

export interface JitCredentials {
  readonly username: string;
  readonly password: string;
  // Marqeta can send up to three custom headers; we check one when configured.
  readonly custom_header?: { readonly name: string; readonly value: string };
}

// Digests make both sides the same length, so the comparison time says nothing about how
// much of a guess was right, nor about the secret's length.
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

export type HeaderValue = string | string[] | undefined;

// Every check runs whatever the earlier ones said, so a wrong username costs the same time as
// a wrong password.
export function authenticateJit(
  credentials: JitCredentials,
  authorization: HeaderValue,
  custom_header_value: HeaderValue,
): boolean {
  const parsed = parseBasic(typeof authorization === 'string' ? authorization : '');
  const username_ok = sameSecret(parsed?.username ?? '', credentials.username);
  const password_ok = sameSecret(parsed?.password ?? '', credentials.password);
  let header_ok = true;
  if (credentials.custom_header !== undefined) {
    const given = typeof custom_header_value === 'string' ? custom_header_value : '';
    header_ok = sameSecret(given, credentials.custom_header.value);
  }
  return parsed !== undefined && username_ok && password_ok && header_ok;
}

function parseBasic(header: string): { username: string; password: string } | undefined {
  const match = /^Basic ([A-Za-z0-9+/=]{1,1024})$/i.exec(header.trim());
  if (match?.[1] === undefined) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
