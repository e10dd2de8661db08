import { defineHoldScripts } from '@afc/card-state';
import type { Logger } from '@afc/log';
import type { Service } from '@afc/service-kit';
import { Counter } from 'prom-client';
import { type Sweeper, startExpirySweeper } from './sweeper.ts';

export interface HoldExpiryOptions {
  readonly hold_expiry_sweep_interval_ms: number;
  readonly hold_expiry_sweep_batch: number;
  readonly partitions: number;
  readonly hold_expiry_ms: number;
}

// The settlement process's expiry sweep, with its metric; a no-op sweeper when disabled.
export async function startHoldExpiry(app: Service, options: HoldExpiryOptions): Promise<Sweeper> {
  if (options.hold_expiry_sweep_interval_ms === 0) return { stop: async () => {} };
  const expired = new Counter({
    name: 'afc_settlement_holds_expired_total',
    help: 'Holds ended by the expiry sweep, by outcome (expired, failed).',
    labelNames: ['outcome'],
    registers: [app.metrics.registry],
  });
  const holds = await defineHoldScripts(app.redis, options.partitions);
  return startExpirySweeper(
    {
      postgres: app.postgres,
      personal_store: app.personalStore,
      hold_expiry_ms: options.hold_expiry_ms,
      holds,
      logger: (app.log as Logger).child({ component: 'expiry' }),
    },
    {
      interval_ms: options.hold_expiry_sweep_interval_ms,
      batch: options.hold_expiry_sweep_batch,
      on_report: (report) => {
        expired.inc({ outcome: 'expired' }, report.expired);
        expired.inc({ outcome: 'failed' }, report.failed);
      },
    },
  );
}
