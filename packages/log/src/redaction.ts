// Keys whose values never reach a log line, wherever they sit in the logged object. Names as
// Marqeta, HTTP and our own config spell them.
export const secret_keys = [
  'authorization',
  'Authorization',
  'proxy-authorization',
  'x-marqeta-signature',
  'cookie',
  'set-cookie',
  'pan',
  'card_number',
  'cardNumber',
  'cvv',
  'cvv_number',
  'cvv2',
  'card_security_code',
  'security_code',
  'pin',
  'pin_block',
  'track1',
  'track2',
  'password',
  'passwd',
  'secret',
  'client_secret',
  'webhook_secret',
  'shared_secret',
  'api_key',
  'apiKey',
  'access_token',
  'admin_access_token',
  'refresh_token',
  'token_secret',
] as const;

// How deep a secret may sit: Marqeta nests PANs inside transaction objects inside webhook
// batches inside request bodies (e.g. req.body.transactions[0].card.pan is depth 5).
const max_depth = 7;

function quote(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`;
}

function join(prefix: string, key: string): string {
  const part = quote(key);
  if (prefix === '') return part;
  return part.startsWith('[') ? `${prefix}${part}` : `${prefix}.${part}`;
}

// pino's redaction (fast-redact) takes explicit paths, compiled once; wildcards match object
// keys and array indices. We spell out every depth up to max_depth for every secret key.
export function redactionPaths(keys: readonly string[] = secret_keys): string[] {
  const paths: string[] = [];
  let prefix = '';
  for (let depth = 0; depth < max_depth; depth += 1) {
    for (const key of keys) paths.push(join(prefix, key));
    prefix = prefix === '' ? '*' : `${prefix}.*`;
  }
  return paths;
}

// Basic-auth credentials in URLs (amqp://user:pass@host) are secrets too: strip them before a
// URL is logged.
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '[unparseable url]';
  }
}
