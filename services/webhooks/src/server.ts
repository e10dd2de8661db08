import { loadConfigOrExit, localDefaultSecrets, webhooksConfigSchema } from '@afc/config';
import { createLogger } from '@afc/log';
import { runService } from '@afc/service-kit';
import { buildWebhooks } from './build-webhooks.ts';

const config = loadConfigOrExit(webhooksConfigSchema, 'webhooks');
const logger = createLogger({ name: 'webhooks', level: config.LOG_LEVEL });
for (const variable of localDefaultSecrets(webhooksConfigSchema, config)) {
  logger.warn({ variable }, 'secret left at its public local default: set it in any deployment');
}

await runService({
  logger,
  host: config.HOST,
  port: config.PORT,
  shutdown_timeout_ms: config.SHUTDOWN_TIMEOUT_MS,
  build: () => buildWebhooks(config, logger),
});
