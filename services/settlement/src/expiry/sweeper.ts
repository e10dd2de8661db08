import type { Logger } from '@afc/log';
import { startPeriodicTask } from '@afc/service-kit';
import { type SweepDependencies, type SweepReport, sweepExpiredHolds } from './sweep.ts';

export interface SweeperOptions {
  readonly interval_ms: number;
  readonly batch: number;
  readonly on_report?: (report: SweepReport) => void;
}

export interface Sweeper {
  // Stops scheduling and waits, at most timeout_ms, for a pass in progress, which stops after
  // the row it is on.
  stop(timeout_ms: number): Promise<void>;
}

// A pass every interval (±20 %), one at a time; a full batch runs the next pass at once.
export function startExpirySweeper(deps: SweepDependencies, options: SweeperOptions): Sweeper {
  const logger: Logger = deps.logger;
  return startPeriodicTask({
    name: 'settlement.expiry_sweep',
    interval_ms: options.interval_ms,
    jitter_ratio: 0.2,
    logger,
    run: async (stopping) => {
      const report = await sweepExpiredHolds(deps, { batch: options.batch, now_ms: Date.now(), stopping });
      options.on_report?.(report);
      if (report.expired > 0 || report.failed > 0)
        logger.info({ event: 'settlement.expiry_sweep', ...report }, 'expiry sweep');
      return {
        again: !report.busy && report.due === options.batch && report.failed === 0 && report.skipped === 0,
      };
    },
  });
}
