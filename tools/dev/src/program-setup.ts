// The program as an operator sets it up at Marqeta, done against the simulator at every start
// (it keeps nothing across restarts): the JIT funding gateway is our authorizer, the card
// product funds through it, and every event is sent to our webhooks service. Creates carry our
// tokens, so a repeat with the same body is answered with the stored object, never a second one.
import type { Logger } from '@afc/log';
import { MarqetaClient } from '@afc/marqeta';
import type { Platform } from './platform.ts';

export function simClient(platform: Platform, logger: Logger): MarqetaClient {
  return new MarqetaClient({
    base_url: `${platform.urls['marqeta-sim']}/v3`,
    application_token: platform.marqeta.application_token,
    admin_access_token: platform.marqeta.admin_access_token,
    logger,
    request_timeout_ms: 10_000,
    retry: { max_attempts: 3 },
  });
}

export async function configureProgram(platform: Platform, marqeta: MarqetaClient): Promise<void> {
  const { program, jit, webhook, urls } = platform;
  await marqeta.createProgramGatewayFundingSource({
    token: program.funding_source_token,
    name: 'afc authorizer',
    url: `${urls.authorizer}/v1/jit`,
    basic_auth_username: jit.username,
    basic_auth_password: jit.password,
    timeout_millis: 3_000,
    ...(jit.custom_header === undefined ? {} : { custom_header: { ...jit.custom_header } }),
  });
  await marqeta.createCardProduct({
    token: program.card_product_token,
    name: 'afc demo cards',
    start_date: '2024-01-01',
    config: {
      card_life_cycle: { activate_upon_issue: true },
      jit_funding: {
        programgateway_funding_source: { funding_source_token: program.funding_source_token, enabled: true },
      },
    },
  });
  await marqeta.createWebhook({
    token: program.webhook_token,
    name: 'afc webhooks',
    events: ['*'],
    config: {
      url: `${urls.webhooks}/v1/webhooks/marqeta`,
      basic_auth_username: webhook.username,
      basic_auth_password: webhook.password,
      secret: webhook.secret,
      signature_algorithm: webhook.algorithm === 'sha256' ? 'HMAC_SHA_256' : 'HMAC_SHA_1',
    },
  });
}
