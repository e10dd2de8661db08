// Headers this package writes on retried, parked and replayed messages.
export const header_names = {
  // The attempt the delivery is (1 for the first); absent means 1.
  attempt: 'x-attempt',
  last_error: 'x-last-error',
  first_failed_at: 'x-first-failed-at',
  // Retries and parking go through other exchanges: the handler still sees the original route.
  original_exchange: 'x-original-exchange',
  original_routing_key: 'x-original-routing-key',
  park_reason: 'x-park-reason',
  attempts: 'x-attempts',
  parked_at: 'x-parked-at',
  replayed_at: 'x-replayed-at',
} as const;

// Set by the broker on delivery; copying them into a new publish would mislead the next reader.
const broker_delivery_headers = ['x-delivery-count'] as const;

// Headers never grow without bound: a reason is an error message, and error messages can be long.
export const max_reason_length = 500;

export function truncateReason(reason: string): string {
  return reason.length <= max_reason_length ? reason : `${reason.slice(0, max_reason_length - 1)}…`;
}

export function copyHeaders(
  headers: Readonly<Record<string, unknown>> | undefined,
  drop: readonly string[] = [],
): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...headers };
  for (const name of [...broker_delivery_headers, ...drop]) delete copy[name];
  return copy;
}

export function stringHeader(headers: Readonly<Record<string, unknown>> | undefined, name: string) {
  const value = headers?.[name];
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}

export function numberHeader(headers: Readonly<Record<string, unknown>> | undefined, name: string) {
  const value = headers?.[name];
  return typeof value === 'number' ? value : undefined;
}
