// The local platform as `npm start` runs it: where each process listens and the credentials
// that wire them to each other. Every value comes from the services' own configuration schemas
// (packages/config), so the starter, the seed and the demo agree with what the services read.

import {
  apiConfigSchema,
  authorizerConfigSchema,
  loadConfigOrThrow,
  localDefaultSecrets,
  webhooksConfigSchema,
} from '@afc/config';
import { callJson } from './http.ts';

export const service_names = [
  'marqeta-sim',
  'authorizer',
  'webhooks',
  'settlement',
  'card-issuer',
  'api',
] as const;
export type ServiceName = (typeof service_names)[number];

// The schemas' default ports; PORT is per process, so a PORT in the environment is ignored here.
export const local_ports: Readonly<Record<ServiceName, number>> = {
  api: 3000,
  authorizer: 3001,
  webhooks: 3002,
  settlement: 3003,
  'card-issuer': 3004,
  'marqeta-sim': 4010,
};

export interface Platform {
  readonly urls: Readonly<Record<ServiceName, string>>;
  readonly admin_key: string;
  readonly marqeta: { readonly application_token: string; readonly admin_access_token: string };
  readonly jit: {
    readonly username: string;
    readonly password: string;
    // The extra header the authorizer expects, when it is configured to.
    readonly custom_header?: Readonly<Record<string, string>>;
  };
  readonly webhook: {
    readonly username: string;
    readonly password: string;
    readonly secret: string;
    readonly algorithm: 'sha256' | 'sha1';
  };
  readonly database_url: string;
  readonly redis: { readonly url: string; readonly key_prefix: string; readonly partitions: number };
  // What the starter creates at Marqeta (the simulator) for the program, by our tokens.
  readonly program: {
    readonly funding_source_token: string;
    readonly card_product_token: string;
    readonly webhook_token: string;
  };
  // The api's secrets (API_ADMIN_KEY, MARQETA_ADMIN_ACCESS_TOKEN) still at their public local
  // default: only those may be printed; one set in the environment is someone's secret.
  readonly local_default_secrets: readonly string[];
}

export const program_tokens = {
  funding_source_token: 'afc-demo-gateway',
  card_product_token: 'afc-demo-cards',
  webhook_token: 'afc-demo-webhooks',
} as const;

export function originsOf(ports: Readonly<Record<ServiceName, number>>): Record<ServiceName, string> {
  const entries = service_names.map((name) => [name, `http://127.0.0.1:${ports[name]}`]);
  return Object.fromEntries(entries) as Record<ServiceName, string>;
}

// Services answer /ready once their dependencies are; the simulator, which has none, /health.
export function readyUrl(platform: Platform, name: ServiceName): string {
  return `${platform.urls[name]}${name === 'marqeta-sim' ? '/health' : '/ready'}`;
}

// Whether the service answers its readiness route with 200 (within 2 s).
export async function answersReady(platform: Platform, name: ServiceName): Promise<boolean> {
  const answer = await callJson('GET', readyUrl(platform, name), { timeout_ms: 2_000 }).catch(
    () => undefined,
  );
  return answer?.status === 200;
}

// The platform described by this environment (the defaults on a developer machine); a bad
// environment throws @afc/config's InvalidConfigError, naming the service and each variable.
export function localPlatform(env: NodeJS.ProcessEnv = process.env): Platform {
  const { PORT: _, ...shared } = env;
  const api = loadConfigOrThrow(apiConfigSchema, 'api', shared);
  const authorizer = loadConfigOrThrow(authorizerConfigSchema, 'authorizer', shared);
  const webhooks = loadConfigOrThrow(webhooksConfigSchema, 'webhooks', shared);
  return {
    urls: originsOf(local_ports),
    admin_key: api.API_ADMIN_KEY,
    marqeta: {
      application_token: api.MARQETA_APPLICATION_TOKEN,
      admin_access_token: api.MARQETA_ADMIN_ACCESS_TOKEN,
    },
    jit: {
      username: authorizer.JIT_BASIC_USERNAME,
      password: authorizer.JIT_BASIC_PASSWORD,
      ...(authorizer.JIT_CUSTOM_HEADER_NAME === undefined || authorizer.JIT_CUSTOM_HEADER_VALUE === undefined
        ? {}
        : { custom_header: { [authorizer.JIT_CUSTOM_HEADER_NAME]: authorizer.JIT_CUSTOM_HEADER_VALUE } }),
    },
    webhook: {
      username: webhooks.WEBHOOK_BASIC_USERNAME,
      password: webhooks.WEBHOOK_BASIC_PASSWORD,
      secret: webhooks.WEBHOOK_SIGNATURE_SECRET,
      algorithm: webhooks.WEBHOOK_SIGNATURE_ALGORITHM,
    },
    database_url: api.DATABASE_URL,
    redis: { url: api.REDIS_URL, key_prefix: api.REDIS_KEY_PREFIX, partitions: api.REDIS_PARTITIONS },
    program: program_tokens,
    local_default_secrets: localDefaultSecrets(apiConfigSchema, api),
  };
}

// What one child process gets: the shared environment, its own port, and the simulator's
// credentials and address made to match what the card issuer and the api present.
export function childEnvironment(platform: Platform, name: ServiceName, env: NodeJS.ProcessEnv) {
  const port = new URL(platform.urls[name]).port;
  return {
    ...env,
    HOST: '127.0.0.1',
    PORT: port,
    MARQETA_BASE_URL: `${platform.urls['marqeta-sim']}/v3`,
    MARQETA_APPLICATION_TOKEN: platform.marqeta.application_token,
    MARQETA_ADMIN_ACCESS_TOKEN: platform.marqeta.admin_access_token,
    MARQETA_SIM_APPLICATION_TOKEN: platform.marqeta.application_token,
    MARQETA_SIM_ADMIN_ACCESS_TOKEN: platform.marqeta.admin_access_token,
  };
}
