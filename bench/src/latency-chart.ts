// The latency-vs-load chart of the sweep as a standalone SVG document, written by hand (a few
// lines of geometry, no charting dependency): one line per percentile against the offered
// rate, a logarithmic latency axis (p50 and p99.9 differ by orders of magnitude under
// overload), and the targets as dashed lines.

export interface ChartPoint {
  readonly offered_per_s: number;
  readonly achieved_per_s: number;
  // null: no decision answered at that rate (nothing to plot).
  readonly latency_ms: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly p999: number;
  } | null;
}

export interface ChartTarget {
  readonly label: string;
  readonly ms: number;
}

export interface ChartOptions {
  readonly title: string;
  readonly subtitle: string;
  readonly targets: readonly ChartTarget[];
}

export const chart_series = [
  { key: 'p50', label: 'p50', color: '#1b9e77' },
  { key: 'p90', label: 'p90', color: '#7570b3' },
  { key: 'p99', label: 'p99', color: '#d95f02' },
  { key: 'p999', label: 'p99.9', color: '#e7298a' },
] as const;

// A point whose achieved rate fell this far short of the offered one is drawn hollow: the
// server did not keep up, and the latency shown is for the load it did take.
export const kept_up_share = 0.95;

const width = 790;
const height = 440;
const margin = { top: 56, right: 180, bottom: 56, left: 64 } as const;
const plot = {
  left: margin.left,
  top: margin.top,
  right: width - margin.right,
  bottom: height - margin.bottom,
};

export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

const fixed = (value: number) => String(Math.round(value * 10) / 10);

// 1-2-5 steps: a step of about a fifth of the range.
export function niceStep(range: number): number {
  const rough = Math.max(range, 1) / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  const multiple = [1, 2, 5, 10].find((m) => m * power >= rough) ?? 10;
  return multiple * power;
}

// 1-2-5 ticks per decade covering [low, high] (low > 0).
export function logTicks(low: number, high: number): number[] {
  const ticks: number[] = [];
  for (let exponent = Math.floor(Math.log10(low)); exponent <= Math.ceil(Math.log10(high)); exponent += 1) {
    for (const m of [1, 2, 5]) {
      const value = Number((m * 10 ** exponent).toPrecision(6));
      if (value >= low && value <= high) ticks.push(value);
    }
  }
  return ticks;
}

function tickLabel(value: number): string {
  return value >= 1 ? String(value) : String(Number(value.toPrecision(3)));
}

interface Scales {
  readonly x: (rate: number) => number;
  readonly y: (ms: number) => number;
  readonly x_ticks: readonly number[];
  readonly y_ticks: readonly number[];
}

function scales(points: readonly ChartPoint[], targets: readonly ChartTarget[]): Scales {
  const step = niceStep(Math.max(...points.map((p) => p.offered_per_s), 1));
  const x_max = Math.ceil(Math.max(...points.map((p) => p.offered_per_s), 1) / step) * step;
  const values = [
    ...points.flatMap((p) => (p.latency_ms === null ? [] : [p.latency_ms.p50, p.latency_ms.p999])),
    ...targets.map((t) => t.ms),
  ].filter((v) => v > 0);
  const smallest = Math.min(...values, 1);
  const largest = Math.max(...values, 10);
  // Whole 1-2-5 steps around the data, so the first and last tick frame it.
  const low = logTicks(smallest / 10, smallest).at(-1) ?? smallest;
  const high = logTicks(largest, largest * 10)[0] ?? largest;
  const span = Math.log10(high) - Math.log10(low);
  return {
    x: (rate) => plot.left + (rate / x_max) * (plot.right - plot.left),
    y: (ms) =>
      plot.bottom - ((Math.log10(Math.max(ms, low)) - Math.log10(low)) / span) * (plot.bottom - plot.top),
    x_ticks: Array.from({ length: Math.round(x_max / step) + 1 }, (_unused, index) => index * step),
    y_ticks: logTicks(low, high),
  };
}

function axes(s: Scales): string[] {
  const lines = [
    `<rect x="${plot.left}" y="${plot.top}" width="${plot.right - plot.left}" height="${plot.bottom - plot.top}" fill="#ffffff" stroke="#444444"/>`,
  ];
  for (const tick of s.x_ticks) {
    const x = fixed(s.x(tick));
    lines.push(
      `<line x1="${x}" y1="${plot.bottom}" x2="${x}" y2="${plot.bottom + 5}" stroke="#444444"/>`,
      `<text x="${x}" y="${plot.bottom + 19}" text-anchor="middle">${tick}</text>`,
    );
  }
  for (const tick of s.y_ticks) {
    const y = fixed(s.y(tick));
    lines.push(
      `<line x1="${plot.left}" y1="${y}" x2="${plot.right}" y2="${y}" stroke="#e6e6e6"/>`,
      `<line x1="${plot.left - 5}" y1="${y}" x2="${plot.left}" y2="${y}" stroke="#444444"/>`,
      `<text x="${plot.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${tickLabel(tick)}</text>`,
    );
  }
  lines.push(
    `<text x="${(plot.left + plot.right) / 2}" y="${height - 14}" text-anchor="middle">offered load (requests/s)</text>`,
    `<text x="18" y="${(plot.top + plot.bottom) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(plot.top + plot.bottom) / 2})">latency (ms, log scale)</text>`,
  );
  return lines;
}

function targetLines(s: Scales, targets: readonly ChartTarget[]): string[] {
  return targets.flatMap((target) => {
    const y = fixed(s.y(target.ms));
    return [
      `<line class="target" x1="${plot.left}" y1="${y}" x2="${plot.right}" y2="${y}" stroke="#b00020" stroke-dasharray="6 4"/>`,
      `<text x="${plot.right - 4}" y="${Number(y) - 5}" text-anchor="end" fill="#b00020">${escapeXml(target.label)}</text>`,
    ];
  });
}

function seriesLines(s: Scales, points: readonly ChartPoint[]): string[] {
  const lines: string[] = [];
  for (const series of chart_series) {
    const plotted = points.filter((p) => p.latency_ms !== null);
    const coordinates = plotted.map(
      (p) => `${fixed(s.x(p.offered_per_s))},${fixed(s.y(p.latency_ms?.[series.key] ?? 0))}`,
    );
    lines.push(`<g class="series" data-series="${series.label}">`);
    if (coordinates.length > 1) {
      lines.push(
        `<polyline fill="none" stroke="${series.color}" stroke-width="2" points="${coordinates.join(' ')}"/>`,
      );
    }
    for (const [index, p] of plotted.entries()) {
      const [cx, cy] = (coordinates[index] ?? '0,0').split(',');
      const kept_up = p.achieved_per_s >= kept_up_share * p.offered_per_s;
      const fill = kept_up ? series.color : '#ffffff';
      lines.push(
        `<circle cx="${cx}" cy="${cy}" r="3.5" fill="${fill}" stroke="${series.color}" stroke-width="1.5"><title>${series.label} at ${p.offered_per_s}/s offered (${p.achieved_per_s}/s answered): ${p.latency_ms?.[series.key]} ms</title></circle>`,
      );
    }
    lines.push('</g>');
  }
  return lines;
}

function legend(points: readonly ChartPoint[]): string[] {
  const x = plot.right + 16;
  const lines = ['<g class="legend">'];
  for (const [index, series] of chart_series.entries()) {
    const y = plot.top + 8 + index * 22;
    lines.push(
      `<line x1="${x}" y1="${y}" x2="${x + 22}" y2="${y}" stroke="${series.color}" stroke-width="2"/>`,
      `<circle cx="${x + 11}" cy="${y}" r="3.5" fill="${series.color}"/>`,
      `<text x="${x + 30}" y="${y}" dominant-baseline="middle">${series.label}</text>`,
    );
  }
  const y = plot.top + 8 + chart_series.length * 22;
  lines.push(
    `<line x1="${x}" y1="${y}" x2="${x + 22}" y2="${y}" stroke="#b00020" stroke-dasharray="6 4"/>`,
    `<text x="${x + 30}" y="${y}" dominant-baseline="middle">target</text>`,
  );
  if (points.some((p) => p.achieved_per_s < kept_up_share * p.offered_per_s)) {
    lines.push(
      `<circle cx="${x + 11}" cy="${y + 22}" r="3.5" fill="#ffffff" stroke="#444444" stroke-width="1.5"/>`,
      `<text x="${x + 30}" y="${y + 22}" dominant-baseline="middle">answered &lt; ${kept_up_share * 100} %</text>`,
      `<text x="${x + 30}" y="${y + 38}" dominant-baseline="middle">of offered</text>`,
    );
  }
  lines.push('</g>');
  return lines;
}

export function latencyChartSvg(points: readonly ChartPoint[], options: ChartOptions): string {
  const sorted = [...points].sort((a, b) => a.offered_per_s - b.offered_per_s);
  const s = scales(sorted, options.targets);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12" fill="#222222">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${plot.left}" y="24" font-size="16" font-weight="bold">${escapeXml(options.title)}</text>`,
    `<text x="${plot.left}" y="42" fill="#555555">${escapeXml(options.subtitle)}</text>`,
    ...axes(s),
    ...targetLines(s, options.targets),
    ...seriesLines(s, sorted),
    ...legend(sorted),
    '</svg>',
    '',
  ].join('\n');
}
