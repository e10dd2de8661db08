import { authorizerConfigSchema, loadConfigOrExit } from '@afc/config';
import { createLogger } from '@afc/log';
import { runService } from '@afc/service-kit';
import { buildAuthorizer } from './build-authorizer.ts';

const config = loadConfigOrExit(authorizerConfigSchema, 'authorizer');
const logger = createLogger({ name: 'authorizer', level: config.LOG_LEVEL });

await runService({
  logger,
  host: config.HOST,
  port: config.PORT,
  shutdown_timeout_ms: config.SHUTDOWN_TIMEOUT_MS,
  build: () => buildAuthorizer(config, logger),
});
