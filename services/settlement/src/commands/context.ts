import { product_topology, type TopologyDescription } from '@afc/amqp';
import { loadConfigOrExit, type SettlementConfig, settlementConfigSchema } from '@afc/config';
import { createLogger, type Logger } from '@afc/log';
import {
  amqpOptions,
  amqpPlugin,
  type CommandReport,
  createService,
  integerOption,
  personalStorePlugin,
  postgresOptions,
  postgresPlugin,
  redisOptions,
  redisPlugin,
  runOperationsCommand,
  type Service,
} from '@afc/service-kit';

// The product topology restricted to some queues, declared exactly as the services declare them.
export function topologyOf(queues: readonly string[]): TopologyDescription {
  return {
    ...product_topology,
    queues: product_topology.queues.filter((queue) => queues.includes(queue.name)),
  };
}

export interface CommandContext {
  readonly app: Service;
  readonly config: SettlementConfig;
  readonly logger: Logger;
}

export interface ContextNeeds {
  readonly postgres?: boolean;
  readonly redis?: boolean;
  // The product queues the command works on: only those are declared (quorum queues are costly).
  readonly amqp?: readonly string[];
  // The personal program's data of record (needs postgres: its twin runs on the same pool).
  readonly personal_store?: boolean;
}

// An operations command runs on the settlement service's own configuration and clients (the
// same environment variables), built as a service that never listens: its plugins give the
// connections, their timeouts and an orderly close. Logs go to stderr; the report to stdout.
export async function openContext(name: string, needs: ContextNeeds): Promise<CommandContext> {
  const config = loadConfigOrExit(settlementConfigSchema, 'settlement');
  const level = config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL;
  const logger = createLogger({ name, level, destination: process.stderr });
  const app = await createService({ name, logger, body_limit_bytes: 1_024 });
  if (needs.postgres === true)
    await app.register(postgresPlugin, {
      postgres: postgresOptions(config, name),
      connect_attempts: config.PG_CONNECT_ATTEMPTS,
      // The service migrates; an operator's command never changes the schema.
      migrate: false,
      readiness_critical: true,
      close_timeout_ms: 5_000,
    });
  if (needs.personal_store === true)
    await app.register(personalStorePlugin, {
      mongodb_uri: config.MONGODB_URI,
      mongodb_db: config.MONGODB_DB,
      readiness_critical: true,
    });
  if (needs.redis === true)
    await app.register(redisPlugin, {
      redis: redisOptions(config, name, { max_retries_per_request: 2 }),
      ready_timeout_ms: 10_000,
      readiness_critical: true,
      close_timeout_ms: 2_000,
    });
  if (needs.amqp !== undefined)
    await app.register(amqpPlugin, {
      amqp: amqpOptions(config, name, topologyOf(needs.amqp)),
      start_timeout_ms: 10_000,
      required_at_start: true,
      readiness_critical: true,
      close_timeout_ms: 5_000,
    });
  await app.ready();
  return { app, config, logger };
}

// A settlement command on the service's own clients (see openContext).
export function runCommand(
  name: string,
  needs: ContextNeeds,
  body: (context: CommandContext) => Promise<CommandReport>,
): Promise<void> {
  return runOperationsCommand(
    name,
    () => openContext(name, needs),
    (context) => context.app.close(),
    body,
  );
}

// --batch of the commands that page through the data of record.
export function parseBatch(value: string): number {
  return integerOption('--batch', value, 1, 10_000);
}
