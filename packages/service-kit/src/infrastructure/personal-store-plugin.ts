import type { Logger } from '@afc/log';
import { createPersonalStore, type PersonalStore } from '@afc/personal-store';
import fp from 'fastify-plugin';
import type { Service } from '../create-service.ts';

declare module 'fastify' {
  interface FastifyInstance {
    personalStore: PersonalStore;
  }
}

export interface PersonalStorePluginOptions {
  // Unset: the PostgreSQL twin on the service's own pool (docs/decisions/0002).
  readonly mongodb_uri?: string | undefined;
  readonly mongodb_db: string;
  readonly readiness_critical: boolean;
}

export const personalStorePlugin = fp<PersonalStorePluginOptions>(
  async (app, options) => {
    // The instance's logger is the pino logger createService was given.
    const logger = app.log as Logger;
    const store = await createPersonalStore({
      ...(options.mongodb_uri === undefined ? {} : { mongodb_uri: options.mongodb_uri }),
      mongodb_db: options.mongodb_db,
      sql: app.postgres.sql,
      logger: logger,
    });
    app.decorate('personalStore', store);
    if (store.backend === 'mongodb') {
      (app as Service).readiness.register(
        'mongodb',
        async () => {
          const ping = await store.ping(2_000);
          if (!ping.ok) throw new Error(`mongodb: ${ping.reason}`);
        },
        { critical: options.readiness_critical },
      );
    }
    app.addHook('onClose', async () => store.close());
  },
  { name: 'afc-personal-store', dependencies: ['afc-readiness', 'afc-postgres'] },
);
