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
const secret_key_set: ReadonlySet<string> = new Set(secret_keys);

type Path = readonly PropertyKey[];

// Objects whose members are not theirs to show: typed arrays (a Buffer has one key per byte),
// dates and the like serialize without their keys.
function walkable(value: unknown): value is object {
  return (
    typeof value === 'object' && value !== null && !ArrayBuffer.isView(value) && !(value instanceof Date)
  );
}

// The path of every member named as a secret, within max_depth levels. Iterative (no
// recursion) and bounded by depth, so cycles end too.
function secretPaths(root: object): Path[] {
  const found: Path[] = [];
  const stack: Array<{ value: object; path: Path }> = [{ value: root, path: [] }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    for (const key of Object.keys(next.value)) {
      const path = [...next.path, key];
      const member: unknown = (next.value as Record<string, unknown>)[key];
      if (secret_key_set.has(key)) found.push(path);
      else if (path.length < max_depth && walkable(member)) stack.push({ value: member, path });
    }
  }
  return found;
}

// A copy with the same prototype (an Error stays an Error for pino's err serializer) whose
// members can be replaced.
function shallowCopy(value: object): object {
  if (Array.isArray(value)) return value.slice();
  const descriptors = Object.getOwnPropertyDescriptors(value);
  for (const descriptor of Object.values(descriptors)) descriptor.configurable = true;
  // V8 keeps an error's stack behind an accessor bound to the original: copy its text.
  if (value instanceof Error) descriptors.stack = { value: value.stack, writable: true, configurable: true };
  return Object.create(Object.getPrototypeOf(value), descriptors) as object;
}

// The value with every secret member's value replaced by `censor`, copying only the objects on
// the way to a secret: the caller's objects are never changed, and a value without secrets
// (almost every log line) comes back as it is.
export function redactSecrets<T>(value: T, censor: string): T {
  if (!walkable(value)) return value;
  const paths = secretPaths(value);
  if (paths.length === 0) return value;
  const copies = new Map<object, object>();
  const copyOf = (original: object): object => {
    const known = copies.get(original);
    if (known !== undefined) return known;
    const copy = shallowCopy(original);
    copies.set(original, copy);
    return copy;
  };
  const root = copyOf(value);
  for (const path of paths) {
    let original = value as object;
    let target = root;
    for (const key of path.slice(0, -1)) {
      original = (original as Record<PropertyKey, object>)[key] as object;
      const child = copyOf(original);
      Object.defineProperty(target, key, {
        value: child,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      target = child;
    }
    const last = path[path.length - 1] as PropertyKey;
    Object.defineProperty(target, last, {
      value: censor,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return root as T;
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
