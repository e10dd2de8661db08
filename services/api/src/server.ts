import { apiConfigSchema, loadConfigOrExit } from '@afc/config';
import { createLogger } from '@afc/log';
import { runService } from '@afc/service-kit';
import { buildApi } from './build-api.ts';

const config = loadConfigOrExit(apiConfigSchema, 'api');
const logger = createLogger({ name: 'api', level: config.LOG_LEVEL });

await runService({
  logger,
  host: config.HOST,
  port: config.PORT,
  shutdown_timeout_ms: config.SHUTDOWN_TIMEOUT_MS,
  build: () => buildApi(config, logger),
});
