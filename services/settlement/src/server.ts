import { loadConfigOrExit, settlementConfigSchema } from '@afc/config';
import { createLogger } from '@afc/log';
import { runService } from '@afc/service-kit';
import { buildSettlement } from './build-settlement.ts';

const config = loadConfigOrExit(settlementConfigSchema, 'settlement');
const logger = createLogger({ name: 'settlement', level: config.LOG_LEVEL });

await runService({
  logger,
  host: config.HOST,
  port: config.PORT,
  shutdown_timeout_ms: config.SHUTDOWN_TIMEOUT_MS,
  build: () => buildSettlement(config, logger),
});
