import type { Logger } from '@afc/log';
import { createPostgres, type PostgresClient, type PostgresOptions, runMigrations } from '@afc/postgres';
import fp from 'fastify-plugin';
import type { Service } from '../create-service.ts';

declare module 'fastify' {
  interface FastifyInstance {
    postgres: PostgresClient;
  }
}

export interface PostgresPluginOptions {
  readonly postgres: PostgresOptions;
  readonly connect_attempts: number;
  // Services apply migrations at start (an advisory lock serialises concurrent starters).
  readonly migrate: boolean;
  readonly readiness_critical: boolean;
  readonly close_timeout_ms: number;
  // false: a server away at start is logged and the service starts anyway (one connection
  // attempt, migrations left to the next start that reaches it); queries connect when it is back.
  readonly required_at_start?: boolean;
}

// Registered before the service's own plugins so that it closes after them (Fastify runs
// onClose hooks in reverse registration order): in-flight work may still write.
export const postgresPlugin = fp<PostgresPluginOptions>(
  async (app, options) => {
    // The instance's logger is the pino logger createService was given.
    const logger = app.log as Logger;
    const client = createPostgres(options.postgres, logger);
    const required = options.required_at_start ?? true;
    let reached = true;
    try {
      await client.connectWithRetry({ attempts: required ? options.connect_attempts : 1 });
    } catch (error) {
      if (required) throw error;
      reached = false;
      logger.warn({ event: 'postgres.unavailable_at_start', err: error }, 'starting without PostgreSQL');
    }
    // Only an unreachable server is tolerated: a schema that does not apply (an edited
    // migration, a failing statement) stops the start instead of running on the old one.
    if (reached && options.migrate) await runMigrations({ sql: client.sql, logger });
    app.decorate('postgres', client);
    (app as Service).readiness.register(
      'postgres',
      async () => {
        const ping = await client.ping(2_000);
        if (!ping.ok) throw new Error(`postgres ping failed: ${ping.error_code}`);
      },
      { critical: options.readiness_critical },
    );
    app.addHook('onClose', async () => client.close(options.close_timeout_ms));
  },
  { name: 'afc-postgres', dependencies: ['afc-readiness'] },
);
