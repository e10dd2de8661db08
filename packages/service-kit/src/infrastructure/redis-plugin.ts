import type { Logger } from '@afc/log';
import {
  type CreateRedisOptions,
  closeRedis,
  createRedis,
  type RedisClient,
  redisHealth,
  waitReady,
} from '@afc/redis';
import fp from 'fastify-plugin';
import type { Service } from '../create-service.ts';

declare module 'fastify' {
  interface FastifyInstance {
    redis: RedisClient;
  }
}

export interface RedisPluginOptions {
  readonly redis: CreateRedisOptions;
  readonly ready_timeout_ms: number;
  readonly readiness_critical: boolean;
  readonly close_timeout_ms: number;
  // false: a server away at start is logged and the service starts anyway; the client
  // reconnects in the background.
  readonly required_at_start?: boolean;
}

export const redisPlugin = fp<RedisPluginOptions>(
  async (app, options) => {
    // The instance's logger is the pino logger createService was given.
    const logger = app.log as Logger;
    const client = createRedis(options.redis, logger);
    try {
      await waitReady(client, options.ready_timeout_ms);
    } catch (error) {
      if (options.required_at_start ?? true) throw error;
      logger.warn({ event: 'redis.unavailable_at_start', err: error }, 'starting without Redis');
    }
    app.decorate<RedisClient>('redis', client);
    (app as Service).readiness.register(
      'redis',
      async () => {
        const health = await redisHealth(client, 2_000);
        if (!health.ok) throw new Error(`redis: ${health.reason}`);
      },
      { critical: options.readiness_critical },
    );
    app.addHook('onClose', async () => closeRedis(client, options.close_timeout_ms));
  },
  { name: 'afc-redis', dependencies: ['afc-readiness'] },
);
