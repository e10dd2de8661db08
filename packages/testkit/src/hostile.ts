import fc from 'fast-check';
import { waitUntil } from './wait-until.ts';

// Generators of hostile requests for the security tests: what a careless or malicious client
// sends where a field belongs. Each service's hostile-requests test mixes these into otherwise
// valid requests, so that validation is reached field by field and not only at the first byte.

export type JsonPath = readonly (string | number)[];

// Nested `depth` levels deep, built without recursion.
export function deeplyNested(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let level = 0; level < depth; level += 1) value = level % 2 === 0 ? [value] : { a: value };
  return value;
}

// A Luhn-valid 16-digit number: what a card number in a body looks like to a log scanner.
export function luhnNumber(digits15: string): string {
  let sum = 0;
  for (let index = 0; index < 15; index += 1) {
    let digit = Number(digits15[14 - index]);
    if (index % 2 === 0) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return `${digits15}${(10 - (sum % 10)) % 10}`;
}

export const card_number_arbitrary = fc
  .stringMatching(/^4[0-9]{14}$/)
  .map((digits15) => luhnNumber(digits15));

const edge_values: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1e308,
  -1e308,
  2 ** 53,
  Number.MAX_SAFE_INTEGER + 2,
  5e-324,
  '',
  ' ',
  '0',
  '-1',
  '1e309',
  'NaN',
  'Infinity',
  '-0.00',
  '99999999999999999999999999999.99',
  '__proto__',
  'constructor',
  '{0}:x',
  '\u0000',
  '\ud800',
  '\u202e\u0635\u{1f4b3}',
  '../../etc/passwd',
  "' or 1=1 --",
  '<script>alert(1)</script>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log-injection probe, literally.
  '${jndi:ldap://127.0.0.1/x}',
  [],
  {},
];

// A value of the wrong type, size or shape for wherever it is put.
export function hostileValue(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom(...edge_values),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.integer(),
    fc.double(),
    fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
    fc.integer({ min: 256, max: 20_000 }).map((length) => 'x'.repeat(length)),
    fc.integer({ min: 20, max: 3_000 }).map(deeplyNested),
    fc.jsonValue({ maxDepth: 3 }),
  );
}

// Request text that is not the JSON it claims to be, or JSON nested past any sane depth.
export function hostileJsonText(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.json({ maxDepth: 4 }),
    fc.integer({ min: 1_000, max: 50_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
    fc.integer({ min: 1_000, max: 50_000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
    fc.constantFrom(
      '{',
      '{"a":',
      '[1,',
      'nul',
      '"\\ud800"',
      '{"__proto__":{"x":1}}',
      '{"constructor":{"prototype":{}}}',
    ),
  );
}

// Every path to a field of a JSON value (objects and arrays), found without recursion.
export function jsonPaths(value: unknown): JsonPath[] {
  const paths: JsonPath[] = [];
  const stack: { value: unknown; path: JsonPath }[] = [{ value, path: [] }];
  while (stack.length > 0) {
    const next = stack.pop();
    if (next === undefined || next.value === null || typeof next.value !== 'object') continue;
    const entries = Array.isArray(next.value) ? next.value.entries() : Object.entries(next.value);
    for (const [key, child] of entries) {
      const path = [...next.path, key];
      paths.push(path);
      stack.push({ value: child, path });
    }
  }
  return paths;
}

function parentOf(root: unknown, path: JsonPath): Record<string | number, unknown> | undefined {
  let node = root;
  for (const key of path.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node !== null && typeof node === 'object' ? (node as Record<string | number, unknown>) : undefined;
}

// A copy of `value` with the field at `path` replaced (or removed when `replacement` is absent).
export function withField(value: unknown, path: JsonPath, replacement?: { value: unknown }): unknown {
  const copy = structuredClone(value);
  const parent = parentOf(copy, path);
  const key = path[path.length - 1];
  if (parent === undefined || key === undefined) return copy;
  if (replacement === undefined) delete parent[key];
  else parent[key] = replacement.value;
  return copy;
}

export interface HostileBody {
  // What is sent, as text (not always JSON).
  readonly payload: string;
  readonly what: string;
}

// A hostile variant of a valid body: one field replaced by a hostile value or removed, an
// extra field carrying a card number, random JSON, or text that is not JSON at all.
export function hostileBody(valid: unknown): fc.Arbitrary<HostileBody> {
  const paths = jsonPaths(valid);
  const field = fc.constantFrom(...(paths.length > 0 ? paths : [['x']]));
  return fc.oneof(
    fc.tuple(field, hostileValue()).map(([path, value]) => ({
      payload: JSON.stringify(withField(valid, path, { value })),
      what: `replaced ${path.join('.')}`,
    })),
    field.map((path) => ({
      payload: JSON.stringify(withField(valid, path)),
      what: `removed ${path.join('.')}`,
    })),
    fc.jsonValue({ maxDepth: 4 }).map((value) => ({ payload: JSON.stringify(value), what: 'random json' })),
    hostileJsonText().map((payload) => ({ payload, what: 'hostile text' })),
  );
}

// A JSON object text with a card number put first under two names a careless logger would
// print: the tests then look for that number in the captured logs.
export function withCardNumber(payload: string, card_number: string | undefined): string {
  if (card_number === undefined || !payload.startsWith('{"')) return payload;
  return `{"pan":"${card_number}","card_number":"${card_number}",${payload.slice(1)}`;
}

// The load shedder answers 503 {"error":"overloaded"} with Retry-After before any handler runs
// when a shared test machine lags the event loop (other tests, garbage collection): that says
// nothing about the request, so it is sent again once `serving` says so. Any other answer, 5xx
// included (a route's own 503, e.g. its broker away), is the request's own. At most 20
// sheddings in a row.
export async function sendPastShedding<
  R extends { statusCode: number; headers: Record<string, unknown>; body: string },
>(send: () => Promise<R>, serving: () => Promise<boolean>): Promise<R> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const response = await send();
    const shed =
      response.statusCode === 503 &&
      response.headers['retry-after'] !== undefined &&
      response.body.includes('"error":"overloaded"');
    if (!shed) return response;
    await waitUntil(serving, { message: 'serving again' });
  }
  throw new Error('shed 20 times in a row');
}
