import type { Logger } from '@afc/log';
import { type SweepDependencies, type SweepReport, sweepExpiredHolds } from './sweep.ts';

export interface SweeperOptions {
  readonly interval_ms: number;
  readonly batch: number;
  readonly on_report?: (report: SweepReport) => void;
}

export interface Sweeper {
  // Stops scheduling and waits for a pass in progress, which stops after the row it is on.
  stop(): Promise<void>;
}

// ±20 %: two settlement processes started together drift apart instead of sweeping in step.
function jittered(interval_ms: number): number {
  return Math.round(interval_ms * (0.8 + Math.random() * 0.4));
}

// Runs a pass every interval (jittered), one at a time; a full batch runs the next pass at once
// (bounded by the same batch each time) so a backlog drains without waiting for the interval.
export function startExpirySweeper(deps: SweepDependencies, options: SweeperOptions): Sweeper {
  const logger: Logger = deps.logger;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const schedule = (delay_ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = pass().finally(() => {
        running = undefined;
      });
    }, delay_ms);
    timer.unref();
  };
  const pass = async () => {
    let full = false;
    try {
      const report = await sweepExpiredHolds(deps, {
        batch: options.batch,
        now_ms: Date.now(),
        stopping: () => stopped,
      });
      options.on_report?.(report);
      if (report.expired > 0 || report.failed > 0)
        logger.info({ event: 'settlement.expiry_sweep', ...report }, 'expiry sweep');
      full = !report.busy && report.due === options.batch && report.failed === 0 && report.skipped === 0;
    } catch (error) {
      logger.warn({ event: 'settlement.expiry_sweep_failed', err: error }, 'expiry sweep failed');
    }
    schedule(full ? 0 : jittered(options.interval_ms));
  };
  schedule(jittered(options.interval_ms));
  return {
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
  };
}
