import { webhook_token_pattern } from '@afc/messages';
import { Type } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import secureJson from 'secure-json-parse';

// Marqeta batches at most 10 events per body, each with its own token (the dedup key).
export const max_events_per_type = 10;

// Keys of one body. Marqeta sends one per body; a few allowed so that a body with several is
// not refused, few enough to bound the work (8 × 10 events).
const max_keys = 8;

const Event = Type.Object(
  { token: Type.String({ pattern: webhook_token_pattern }) },
  // Marqeta's objects carry many fields we do not model: they pass through untouched.
  { additionalProperties: true },
);
const Batch = Type.Array(Event, { minItems: 1, maxItems: max_events_per_type });

// The types marqeta.md names. Any other key of the same shape is published as `unknown.<key>`:
// Marqeta adds event types (chargebacktransitions, digitalwallettokentransitions, ...), and a
// body refused for one is retried for two weeks and then lost with every event in it.
export const known_types = [
  'transactions',
  'cardtransitions',
  'usertransitions',
  'businesstransitions',
] as const;

export const WebhookBody = Type.Object(
  {
    transactions: Type.Optional(Batch),
    cardtransitions: Type.Optional(Batch),
    usertransitions: Type.Optional(Batch),
    businesstransitions: Type.Optional(Batch),
    // Health checks: answered 200, never published.
    pings: Type.Optional(Batch),
  },
  {
    additionalProperties: Batch,
    // Unknown keys become routing-key words and metric labels: a small safe alphabet.
    propertyNames: { pattern: '^[a-z][a-z0-9_]{0,63}$' },
    minProperties: 1,
    maxProperties: max_keys,
  },
);

// No coercion, no defaults, no stripping: the events are published exactly as Marqeta sent them.
const ajv = new Ajv({ coerceTypes: false, useDefaults: false, removeAdditional: false, allErrors: false });
const validate = ajv.compile(WebhookBody);

export interface ReceivedEvent {
  readonly type: string;
  readonly event: Readonly<Record<string, unknown>> & { readonly token: string };
}

export type ParsedBody =
  | { readonly ok: true; readonly events: readonly ReceivedEvent[]; readonly pings: number }
  | { readonly ok: false; readonly reason: 'malformed_json' | 'invalid_body'; readonly message: string };

const known = new Set<string>(known_types);

function parseJson(raw: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    // As Fastify's own parser: __proto__ and constructor.prototype keys are refused.
    return {
      ok: true,
      value: secureJson.parse(raw.toString('utf8'), undefined, {
        protoAction: 'error',
        constructorAction: 'error',
      }),
    };
  } catch {
    return { ok: false };
  }
}

// The events of a signed body, in body order. Values are never echoed in messages: card data.
export function parseWebhookBody(raw: Buffer): ParsedBody {
  const json = parseJson(raw);
  if (!json.ok) return { ok: false, reason: 'malformed_json', message: 'the body is not valid JSON' };
  if (!validate(json.value)) {
    const issue = validate.errors?.[0];
    const where = issue === undefined ? 'body' : `body${issue.instancePath.replaceAll('/', '.')}`;
    return { ok: false, reason: 'invalid_body', message: `invalid ${where}: ${issue?.message ?? 'invalid'}` };
  }
  const body = json.value as Record<string, ReceivedEvent['event'][]>;
  const events: ReceivedEvent[] = [];
  let pings = 0;
  for (const [key, batch] of Object.entries(body)) {
    if (key === 'pings') {
      pings += batch.length;
      continue;
    }
    const type = known.has(key) ? key : `unknown.${key}`;
    for (const event of batch) events.push({ type, event });
  }
  return { ok: true, events, pings };
}
