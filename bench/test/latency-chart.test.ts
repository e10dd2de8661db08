import { describe, expect, it } from 'vitest';
import { type ChartPoint, chart_series, latencyChartSvg, logTicks, niceStep } from '../src/latency-chart.ts';
import { checkXml, type XmlElement } from './xml-check.ts';

const latency = (p50: number) => ({ p50, p90: p50 * 2, p99: p50 * 5, p999: p50 * 9 });
const points: ChartPoint[] = [
  { offered_per_s: 1000, achieved_per_s: 1000, latency_ms: latency(0.8) },
  { offered_per_s: 500, achieved_per_s: 500, latency_ms: latency(0.6) },
  { offered_per_s: 2000, achieved_per_s: 1999, latency_ms: latency(1.5) },
  { offered_per_s: 4000, achieved_per_s: 3100, latency_ms: latency(180) },
];
const options = {
  title: 'Latency & load <sweep>',
  subtitle: "2 × CPU 'test'",
  targets: [
    { label: 'p99 at 50 conns: 15 ms', ms: 15 },
    { label: 'p99 at 2000/s: 5 ms', ms: 5 },
  ],
};

function seriesChildren(elements: readonly XmlElement[], label: string) {
  const index = elements.findIndex((e) => e.name === 'g' && e.attributes['data-series'] === label);
  expect(index).toBeGreaterThanOrEqual(0);
  return elements.filter((e) => e.parent === index);
}

const y = (element: XmlElement | undefined) => Number(element?.attributes.cy ?? element?.attributes.y1);

describe('latencyChartSvg', () => {
  it('is well-formed SVG with one line per percentile through every point, in rate order', () => {
    const { problems, elements } = checkXml(latencyChartSvg(points, options));
    expect(problems).toEqual([]);
    expect(elements[0]?.name).toBe('svg');
    expect(elements[0]?.attributes.xmlns).toBe('http://www.w3.org/2000/svg');
    for (const series of chart_series) {
      const children = seriesChildren(elements, series.label);
      const line = children.find((e) => e.name === 'polyline');
      const xs = (line?.attributes.points ?? '').split(' ').map((pair) => Number(pair.split(',')[0]));
      expect(xs).toHaveLength(points.length);
      expect([...xs].sort((a, b) => a - b)).toEqual(xs);
      expect(children.filter((e) => e.name === 'circle')).toHaveLength(points.length);
    }
  });

  it('draws higher percentiles higher up, and the 15 ms target above the 5 ms one, both dashed', () => {
    const { elements } = checkXml(latencyChartSvg(points, options));
    const first = (label: string) => seriesChildren(elements, label).find((e) => e.name === 'circle');
    expect(y(first('p50'))).toBeGreaterThan(y(first('p90')));
    expect(y(first('p90'))).toBeGreaterThan(y(first('p99')));
    expect(y(first('p99'))).toBeGreaterThan(y(first('p99.9')));
    const targets = elements.filter((e) => e.attributes.class === 'target');
    expect(targets).toHaveLength(2);
    expect(targets.every((e) => e.attributes['stroke-dasharray'] !== undefined)).toBe(true);
    expect(y(targets[0])).toBeLessThan(y(targets[1]));
  });

  it('draws a point hollow where fewer than 95 % of the offered requests were answered', () => {
    const { elements } = checkXml(latencyChartSvg(points, options));
    const fills = seriesChildren(elements, 'p99')
      .filter((e) => e.name === 'circle')
      .map((e) => e.attributes.fill);
    expect(fills.filter((fill) => fill === '#ffffff')).toHaveLength(1);
    expect(fills.at(-1)).toBe('#ffffff');
  });

  it('escapes text and leaves out a rate with no decision answered', () => {
    const silent: ChartPoint = { offered_per_s: 8000, achieved_per_s: 0, latency_ms: null };
    const svg = latencyChartSvg([...points, silent], options);
    const { problems, elements } = checkXml(svg);
    expect(problems).toEqual([]);
    expect(svg).toContain('Latency &amp; load &lt;sweep&gt;');
    expect(seriesChildren(elements, 'p50').filter((e) => e.name === 'circle')).toHaveLength(points.length);
  });
});

describe('axis ticks', () => {
  it('steps by 1, 2 or 5 times a power of ten and covers the range with log ticks', () => {
    expect(niceStep(4000)).toBe(1000);
    expect(niceStep(700)).toBe(200);
    expect(logTicks(0.5, 200)).toEqual([0.5, 1, 2, 5, 10, 20, 50, 100, 200]);
  });
});

describe('checkXml (the test helper above)', () => {
  it('finds what would make the chart unreadable', () => {
    expect(checkXml('<svg><g></svg>').problems).not.toEqual([]);
    expect(checkXml('<svg><text>a & b</text></svg>').problems).toEqual(['stray & in text']);
    expect(checkXml('<svg a="1" a="2"/>').problems).toEqual(['attribute a twice in <svg>']);
    expect(checkXml('<svg/><svg/>').problems).toEqual(['2 root elements']);
  });
});
