import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const request_id_header = 'x-request-id';

// An incoming id is trusted only as a correlation token: short, and of characters that cannot
// forge log structure or smuggle a header. Anything else is replaced, not rejected: a bad id
// must never cost an authorization.
const sane_request_id = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function isSaneRequestId(value: unknown): value is string {
  return typeof value === 'string' && sane_request_id.test(value);
}

export function genReqId(request: IncomingMessage): string {
  const incoming = request.headers[request_id_header];
  return isSaneRequestId(incoming) ? incoming : randomUUID();
}
