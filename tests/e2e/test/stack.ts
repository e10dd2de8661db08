import { deleteTopology, product_topology } from '@afc/amqp';
import { buildApi } from '@afc/api';
import { buildAuthorizer } from '@afc/authorizer';
import { buildCardIssuer } from '@afc/card-issuer';
import {
  apiConfigSchema,
  authorizerConfigSchema,
  cardIssuerConfigSchema,
  loadConfigOrThrow,
} from '@afc/config';
import { createLogger } from '@afc/log';
import { MarqetaClient } from '@afc/marqeta';
import { buildMarqetaSim, type MarqetaSim } from '@afc/marqeta-sim';
import type { Service } from '@afc/service-kit';
import { type Cleanups, isolatedInfrastructure, localServiceUrls, startWithCleanups } from '@afc/testkit';

export const admin_key = 'e2e-admin-key-0123456789-abcdef';
export const product_token = 'e2e-product';
const application_token = 'e2e-app';
const admin_access_token = 'e2e-admin-access-token';
const jit_username = 'marqeta-jit';
const jit_password = 'an-e2e-jit-password-long-enough';

export interface Stack {
  readonly api: Service;
  readonly authorizer: Service;
  readonly sim: MarqetaSim;
  readonly marqeta: MarqetaClient;
  close(): Promise<void>;
}

// Everything on 127.0.0.1:0 against one database, one Redis prefix and one AMQP namespace;
// undone in reverse order, also after a start that failed half-way.
export async function startStack(): Promise<Stack> {
  return startWithCleanups(async (cleanups) => ({ ...(await start(cleanups)), close: () => cleanups.run() }));
}

async function start(cleanups: Cleanups): Promise<Omit<Stack, 'close'>> {
  const { database, redis_prefix, namespace } = await isolatedInfrastructure(cleanups, 'e2e');
  // Quorum queues are Raft groups: leaving them behind slows the shared broker for everyone.
  cleanups.add(() => deleteTopology(localServiceUrls.amqp, { ...product_topology, namespace }));
  const sim = buildMarqetaSim({ application_token, admin_access_token, log_level: 'silent' });
  const origin = await sim.listen();
  cleanups.add(() => sim.close());
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL: localServiceUrls.redis,
    REDIS_KEY_PREFIX: redis_prefix.prefix,
    // Five services and the simulator share two cores with the runner: no shedding of its calls.
    SHED_EVENT_LOOP_DELAY_MS: '5000',
    AMQP_URL: localServiceUrls.amqp,
    AMQP_NAMESPACE: namespace,
    PG_POOL_MAX: '4',
    HOST: '127.0.0.1',
    PORT: '0',
    MARQETA_BASE_URL: `${origin}/v3`,
    MARQETA_APPLICATION_TOKEN: application_token,
    MARQETA_ADMIN_ACCESS_TOKEN: admin_access_token,
    MARQETA_TIMEOUT_MS: '5000',
  };
  const logger = (name: string) => createLogger({ name, level: 'error' });
  const { MARQETA_BASE_URL: _, ...authorizer_env } = env;
  const authorizer = await buildAuthorizer(
    loadConfigOrThrow(authorizerConfigSchema, 'e2e authorizer', {
      ...authorizer_env,
      JIT_BASIC_USERNAME: jit_username,
      JIT_BASIC_PASSWORD: jit_password,
      DECISION_DEADLINE_MS: '2500',
    }),
    logger('authorizer'),
  );
  cleanups.add(() => authorizer.close());
  const jit_origin = await authorizer.listen({ host: '127.0.0.1', port: 0 });
  const issuer = await buildCardIssuer(
    loadConfigOrThrow(cardIssuerConfigSchema, 'e2e card-issuer', env),
    logger('card-issuer'),
  );
  cleanups.add(() => issuer.close());
  await issuer.ready();
  const api = await buildApi(
    loadConfigOrThrow(apiConfigSchema, 'e2e api', { ...env, API_ADMIN_KEY: admin_key }),
    logger('api'),
  );
  cleanups.add(() => api.close());
  await api.ready();
  const marqeta = new MarqetaClient({ ...marqetaOptions(origin), logger: logger('e2e-marqeta') });
  cleanups.add(() => marqeta.close());
  await configureProgram(marqeta, `${jit_origin}/v1/jit`);
  return { api, authorizer, sim, marqeta };
}

function marqetaOptions(origin: string) {
  return { base_url: `${origin}/v3`, application_token, admin_access_token, retry: { max_attempts: 1 } };
}

// The program as an operator sets it up at Marqeta: the gateway is our authorizer.
async function configureProgram(marqeta: MarqetaClient, jit_url: string): Promise<void> {
  await marqeta.createProgramGatewayFundingSource({
    token: 'e2e-gateway',
    name: 'authorizer',
    url: jit_url,
    basic_auth_username: jit_username,
    basic_auth_password: jit_password,
    timeout_millis: 3_000,
  });
  await marqeta.createCardProduct({
    token: product_token,
    name: 'e2e cards',
    start_date: '2024-01-01',
    config: {
      card_life_cycle: { activate_upon_issue: true },
      jit_funding: { programgateway_funding_source: { funding_source_token: 'e2e-gateway', enabled: true } },
    },
  });
}
