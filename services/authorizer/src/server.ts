import { authorizerConfigSchema, loadConfigOrExit, localDefaultSecrets } from '@afc/config';
import { createLogger } from '@afc/log';
import { runService } from '@afc/service-kit';
import { buildAuthorizer } from './build-authorizer.ts';

const config = loadConfigOrExit(authorizerConfigSchema, 'authorizer');
const logger = createLogger({ name: 'authorizer', level: config.LOG_LEVEL });
for (const variable of localDefaultSecrets(authorizerConfigSchema, config)) {
  logger.warn({ variable }, 'secret left at its public local default: set it in any deployment');
}

await runService({
  logger,
  host: config.HOST,
  port: config.PORT,
  shutdown_timeout_ms: config.SHUTDOWN_TIMEOUT_MS,
  build: () => buildAuthorizer(config, logger),
});
