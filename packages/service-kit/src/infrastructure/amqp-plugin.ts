import { AmqpClient, type AmqpClientOptions } from '@afc/amqp';
import type { Logger } from '@afc/log';
import fp from 'fastify-plugin';
import type { Service } from '../create-service.ts';

declare module 'fastify' {
  interface FastifyInstance {
    amqp: AmqpClient;
  }
}

export interface AmqpPluginOptions {
  readonly amqp: Omit<AmqpClientOptions, 'logger'>;
  // The first connection: past it the service starts anyway and keeps reconnecting in the
  // background (the authorizer must decide while RabbitMQ is down), unless required.
  readonly start_timeout_ms: number;
  readonly required_at_start: boolean;
  readonly readiness_critical: boolean;
  readonly close_timeout_ms: number;
}

export const amqpPlugin = fp<AmqpPluginOptions>(
  async (app, options) => {
    // The instance's logger is the pino logger createService was given.
    const logger = app.log as Logger;
    const client = new AmqpClient({ ...options.amqp, logger });
    try {
      await client.start(options.start_timeout_ms);
    } catch (error) {
      if (options.required_at_start) throw error;
      logger.warn({ err: error }, 'amqp not reachable at start; reconnecting in the background');
    }
    app.decorate('amqp', client);
    (app as Service).readiness.register(
      'rabbitmq',
      async () => {
        if (client.state !== 'connected') throw new Error(`rabbitmq connection ${client.state}`);
      },
      { critical: options.readiness_critical },
    );
    // Closing drains: consumers cancelled, in-flight handlers and pending confirms awaited.
    app.addHook('onClose', async () => {
      const outcome = await client.close(options.close_timeout_ms);
      logger.info(outcome, 'amqp closed');
    });
  },
  { name: 'afc-amqp', dependencies: ['afc-readiness'] },
);
