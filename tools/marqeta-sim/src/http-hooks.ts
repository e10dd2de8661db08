import { createHash, timingSafeEqual } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@afc/log';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SimContext } from './context.ts';
import { MarqetaApiError, marqeta_error_codes, sim_error_codes, unauthorized } from './errors.ts';

// Basic auth compared in constant time: both sides are hashed to equal lengths first.
export function basicAuthHook(application_token: string, admin_access_token: string) {
  const expected = createHash('sha256').update(`${application_token}:${admin_access_token}`).digest();
  return async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    if (header === undefined || !header.startsWith('Basic ')) throw unauthorized();
    const given = createHash('sha256')
      .update(Buffer.from(header.slice('Basic '.length), 'base64'))
      .digest();
    if (!timingSafeEqual(given, expected)) throw unauthorized();
  };
}

// Drills: latency, 429 with Retry-After, 500, dropped connections, on Core API requests.
export function coreFaultsHook(ctx: SimContext) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const faults = ctx.faults();
    if (ctx.fault_random.chance(faults.drop_connection_rate)) {
      // No answer at all: the client sees a reset connection.
      reply.hijack();
      request.raw.socket.destroy();
      return reply;
    }
    if (faults.core_latency_ms > 0) await sleep(faults.core_latency_ms);
    if (ctx.fault_random.chance(faults.core_429_rate)) {
      const body = {
        error_message: 'Too many requests (injected)',
        error_code: marqeta_error_codes.rate_limited,
      };
      return reply.code(429).header('retry-after', String(faults.retry_after_s)).send(body);
    }
    if (ctx.fault_random.chance(faults.core_error_rate)) {
      const body = {
        error_message: 'Internal server error (injected)',
        error_code: marqeta_error_codes.server_error,
      };
      return reply.code(500).send(body);
    }
    return undefined;
  };
}

export function installErrorHandlers(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof MarqetaApiError) return reply.code(error.status_code).send(error.body());
    if (error.validation !== undefined) {
      return reply
        .code(400)
        .send({ error_message: error.message, error_code: marqeta_error_codes.invalid_request });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const error_code = status === 413 ? marqeta_error_codes.payload_too_large : `${status}000`;
      return reply.code(status).send({ error_message: error.message, error_code });
    }
    logger.error(
      { err: error, code: sim_error_codes.internal, url: request.routeOptions.url },
      'unexpected error',
    );
    return reply
      .code(500)
      .send({ error_message: 'Internal server error', error_code: marqeta_error_codes.server_error });
  });
  app.setNotFoundHandler((request, reply) => {
    const body = {
      error_message: `No such endpoint: ${request.method} ${request.url.split('?')[0]}`,
      error_code: marqeta_error_codes.not_found,
    };
    return reply.code(404).send(body);
  });
}
