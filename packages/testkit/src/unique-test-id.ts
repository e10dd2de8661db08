import { randomBytes } from 'node:crypto';

// Lower-case letters and digits only: valid in database names, Redis keys and queue names.
export function uniqueTestId(prefix = 't'): string {
  return `${prefix}${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}
