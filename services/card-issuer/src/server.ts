import { cardIssuerConfigSchema, loadConfigOrExit } from '@afc/config';
import { createLogger } from '@afc/log';
import { runService } from '@afc/service-kit';
import { buildCardIssuer } from './build-card-issuer.ts';

const config = loadConfigOrExit(cardIssuerConfigSchema, 'card-issuer');
const logger = createLogger({ name: 'card-issuer', level: config.LOG_LEVEL });

await runService({
  logger,
  host: config.HOST,
  port: config.PORT,
  shutdown_timeout_ms: config.SHUTDOWN_TIMEOUT_MS,
  build: () => buildCardIssuer(config, logger),
});
