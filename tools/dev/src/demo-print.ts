// The demo's report in the terminal.
import type { DemoReport } from './demo-day.ts';
import { table } from './report.ts';

export function renderDemoReport(report: DemoReport): string {
  const steps = report.steps.map((row, index) => [
    String(index + 1),
    row.step,
    row.expected,
    row.actual,
    row.verdict,
  ]);
  const checks = report.ledger.rows.map((row) => [
    row.subject,
    row.check,
    row.expected,
    row.realtime,
    row.ledger,
    row.verdict,
  ]);
  const unavailable = report.steps.filter((row) => row.verdict === 'not available').length;
  return [
    '',
    `Demo day ${report.run_id}: what happened`,
    '',
    table(['#', 'step', 'expected', 'actual', 'verdict'], steps),
    '',
    'Final balances and counters, against the books',
    '',
    table(['card', 'check', 'expected', 'real-time (Redis)', 'ledger (data of record)', 'verdict'], checks),
    '',
    ...(report.ledger.differences.length === 0
      ? []
      : ['Differences:', ...report.ledger.differences.map((line) => `  - ${line}`), '']),
    report.ok
      ? `OK: every step and every balance as expected${unavailable === 0 ? '' : ` (${unavailable} step(s) not available, see above)`}.`
      : 'MISMATCH: see the rows marked MISMATCH and the differences above.',
    '',
  ].join('\n');
}
