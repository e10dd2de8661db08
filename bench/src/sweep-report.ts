import type { ChartOptions } from './latency-chart.ts';
import type { Latency } from './load-protocol.ts';
import { type Machine, targets } from './report.ts';

// One offered rate of the sweep, as written to results/latest-sweep.json.
export interface SweepPoint {
  readonly offered_per_s: number;
  readonly achieved_per_s: number;
  readonly connections: number;
  readonly latency_ms: Latency | null;
  readonly errors: number;
  readonly decisions: number;
  readonly machine_busy_share: number | null;
}

export function sweepChartOptions(machine: Machine, phase_s: number): ChartOptions {
  return {
    title: 'Authorizer: JIT decision latency against offered load',
    subtitle: `${phase_s} s per rate, ${machine.cpus} × ${machine.cpu_model}, ${machine.date.slice(0, 16).replace('T', ' ')} UTC`,
    targets: [
      { label: `p99 target at 50 conns: ${targets.p99_ms_max} ms`, ms: targets.p99_ms_max },
      { label: `p99 target at 2000 req/s: ${targets.p99_at_rate_ms_max} ms`, ms: targets.p99_at_rate_ms_max },
    ],
  };
}
