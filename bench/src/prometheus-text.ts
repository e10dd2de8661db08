// Just enough of the Prometheus text format to difference two scrapes of the authorizer's
// /metrics: counters and histogram series, keyed by name and labels.

export type Scrape = ReadonlyMap<string, number>;

const sample_pattern = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$/;

export function parseScrape(text: string): Scrape {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = sample_pattern.exec(line);
    if (match?.[1] === undefined || match[3] === undefined) continue;
    const value = Number(match[3]);
    if (Number.isFinite(value)) samples.set(`${match[1]}${match[2] ?? ''}`, value);
  }
  return samples;
}

export async function scrape(url: string): Promise<Scrape> {
  const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  return parseScrape(await response.text());
}

// after − before for every series (a series absent before counts from zero).
export function difference(after: Scrape, before: Scrape): Scrape {
  const delta = new Map<string, number>();
  for (const [key, value] of after) delta.set(key, value - (before.get(key) ?? 0));
  return delta;
}

function labelsOf(key: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const open = key.indexOf('{');
  if (open < 0) return labels;
  for (const match of key.slice(open + 1, -1).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
    if (match[1] !== undefined) labels[match[1]] = match[2] ?? '';
  }
  return labels;
}

function nameOf(key: string): string {
  const open = key.indexOf('{');
  return open < 0 ? key : key.slice(0, open);
}

// Series of one metric grouped by one label (e.g. stage, result, decline_reason), summed.
export function byLabel(samples: Scrape, name: string, label: string): Record<string, number> {
  const grouped: Record<string, number> = {};
  for (const [key, value] of samples) {
    if (nameOf(key) !== name) continue;
    const group = labelsOf(key)[label] ?? '';
    grouped[group] = (grouped[group] ?? 0) + value;
  }
  return grouped;
}

export function total(samples: Scrape, name: string): number {
  let sum = 0;
  for (const [key, value] of samples) if (nameOf(key) === name) sum += value;
  return sum;
}

// Upper bound (the bucket's `le`) under which a fraction q of one histogram's observations
// fall, over the series whose `label` is `value` (summed per bucket): coarse, but from the
// server's own clock.
export function bucketQuantile(samples: Scrape, name: string, label: string, value: string, q: number) {
  const counts = new Map<number, number>();
  for (const [key, count] of samples) {
    if (nameOf(key) !== `${name}_bucket`) continue;
    const labels = labelsOf(key);
    if (labels[label] !== value || labels.le === undefined) continue;
    const le = labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(labels.le);
    counts.set(le, (counts.get(le) ?? 0) + count);
  }
  const buckets = [...counts].sort((a, b) => a[0] - b[0]);
  const all = buckets.at(-1)?.[1] ?? 0;
  if (all === 0) return null;
  return buckets.find(([, count]) => count >= q * all)?.[0] ?? null;
}
