// The whole platform in this process, as `npm start` wires it but isolated: one database, one
// Redis key prefix, one AMQP namespace, every listener on 127.0.0.1 and a free port. Undone in
// reverse order, also after a start that failed half-way.
import { deleteTopology, product_topology } from '@afc/amqp';
import { buildApi } from '@afc/api';
import { buildAuthorizer } from '@afc/authorizer';
import { buildCardIssuer } from '@afc/card-issuer';
import {
  apiConfigSchema,
  authorizerConfigSchema,
  cardIssuerConfigSchema,
  loadConfigOrThrow,
  settlementConfigSchema,
  webhooksConfigSchema,
} from '@afc/config';
import { createLogger } from '@afc/log';
import { buildMarqetaSim } from '@afc/marqeta-sim';
import type { Service } from '@afc/service-kit';
import { buildSettlement } from '@afc/settlement';
import {
  type Cleanups,
  isolatedInfrastructure,
  listenOnStablePort,
  localServiceUrls,
  startWithCleanups,
} from '@afc/testkit';
import { buildWebhooks } from '@afc/webhooks';
import { type Platform, program_tokens, type ServiceName } from '../src/platform.ts';

export interface TestPlatform {
  readonly platform: Platform;
  // A new simulator on the same port, knowing nothing: what a restart of `npm start` meets.
  restartSim(): Promise<void>;
  close(): Promise<void>;
}

const credentials = {
  admin_key: 'dev-test-admin-key-0123456789',
  application_token: 'dev-test-app',
  admin_access_token: 'dev-test-admin-access-token',
  jit: { username: 'dev-test-jit', password: 'dev-test-jit-password-long-enough' },
  webhook: {
    username: 'dev-test-webhooks',
    password: 'dev-test-webhook-password-0000',
    secret: 'dev-test-signing-secret',
  },
};

export async function startTestPlatform(): Promise<TestPlatform> {
  return startWithCleanups(async (cleanups) => {
    const { platform, restartSim } = await start(cleanups);
    return { platform, restartSim, close: () => cleanups.run() };
  });
}

function newSim() {
  return buildMarqetaSim({
    application_token: credentials.application_token,
    admin_access_token: credentials.admin_access_token,
    webhook_delay_factor: 0.001,
    log_level: 'silent',
  });
}

async function start(cleanups: Cleanups) {
  const { database, redis_prefix, namespace } = await isolatedInfrastructure(cleanups, 'dev');
  // Quorum queues are Raft groups: leaving them behind slows the shared broker for everyone.
  cleanups.add(() => deleteTopology(localServiceUrls.amqp, { ...product_topology, namespace }));
  let sim = newSim();
  // Below the ephemeral range: no other test's listener or client socket takes the port while
  // restartSim has it closed.
  const { port: sim_port, result: sim_origin } = await listenOnStablePort((port) => sim.listen({ port }));
  cleanups.add(() => sim.close());
  const restartSim = async () => {
    await sim.close();
    sim = newSim();
    await sim.listen({ port: sim_port });
  };
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL: localServiceUrls.redis,
    REDIS_KEY_PREFIX: redis_prefix.prefix,
    AMQP_URL: localServiceUrls.amqp,
    AMQP_NAMESPACE: namespace,
    PG_POOL_MAX: '4',
    MARQETA_BASE_URL: `${sim_origin}/v3`,
    MARQETA_APPLICATION_TOKEN: credentials.application_token,
    MARQETA_ADMIN_ACCESS_TOKEN: credentials.admin_access_token,
    JIT_BASIC_USERNAME: credentials.jit.username,
    JIT_BASIC_PASSWORD: credentials.jit.password,
    // A loaded 2-core machine: the deadline is not what this test is about.
    DECISION_DEADLINE_MS: '2500',
    // Nor shedding (the fault drills' subject): a busy sample must not answer 503 to every
    // service's requests under test (other test files share both cores).
    SHED_EVENT_LOOP_DELAY_MS: '5000',
    WEBHOOK_BASIC_USERNAME: credentials.webhook.username,
    WEBHOOK_BASIC_PASSWORD: credentials.webhook.password,
    WEBHOOK_SIGNATURE_SECRET: credentials.webhook.secret,
    API_ADMIN_KEY: credentials.admin_key,
  };
  const logger = (name: string) => createLogger({ name, level: 'error' });
  const listen = async (service: Service) => {
    cleanups.add(() => service.close());
    return service.listen({ host: '127.0.0.1', port: 0 });
  };
  const authorizer = await listen(
    await buildAuthorizer(loadConfigOrThrow(authorizerConfigSchema, 'authorizer', env), logger('authorizer')),
  );
  const webhooks = await listen(
    await buildWebhooks(loadConfigOrThrow(webhooksConfigSchema, 'webhooks', env), logger('webhooks')),
  );
  const settlement = await listen(
    await buildSettlement(loadConfigOrThrow(settlementConfigSchema, 'settlement', env), logger('settlement')),
  );
  const issuer = await listen(
    await buildCardIssuer(
      loadConfigOrThrow(cardIssuerConfigSchema, 'card-issuer', env),
      logger('card-issuer'),
    ),
  );
  const api = await listen(await buildApi(loadConfigOrThrow(apiConfigSchema, 'api', env), logger('api')));
  const urls: Record<ServiceName, string> = {
    api,
    authorizer,
    webhooks,
    settlement,
    'card-issuer': issuer,
    'marqeta-sim': sim_origin,
  };
  const platform: Platform = {
    urls,
    admin_key: credentials.admin_key,
    marqeta: {
      application_token: credentials.application_token,
      admin_access_token: credentials.admin_access_token,
    },
    jit: credentials.jit,
    webhook: { ...credentials.webhook, algorithm: 'sha256' },
    database_url: database.url,
    redis: { url: localServiceUrls.redis, key_prefix: redis_prefix.prefix, partitions: 64 },
    program: program_tokens,
    // The harness's own credentials, none of them the public defaults.
    local_default_secrets: [],
  };
  return { platform, restartSim };
}
