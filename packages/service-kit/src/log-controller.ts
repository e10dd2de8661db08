import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { routeLabel } from './metrics-plugin.ts';

function requestSummary(request: FastifyRequest, reply: FastifyReply) {
  return {
    method: request.method,
    route: routeLabel(request.routeOptions.url),
    status_code: reply.statusCode,
    duration_ms: Math.round(reply.elapsedTime * 100) / 100,
  };
}

// Fastify's own per-request lines carry `req` (the URL with its query string); ours carry the
// method, the route pattern, the status and the duration: no URL, no headers (Authorization),
// never a body (card data). Each line carries request_id through the request's child logger.
export class ServiceLogController extends LogController {
  // One line per request, written when it completes; an arrival line would double the volume
  // on the hot path for nothing the completion line lacks.
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (error) request.log.error({ ...requestSummary(request, reply), err: error }, 'request errored');
    else request.log.info(requestSummary(request, reply), 'request completed');
  }

  override defaultErrorLog(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    if (reply.statusCode >= 500)
      request.log.error({ err: error, status_code: reply.statusCode }, 'request failed');
  }

  override routeNotFound(request: FastifyRequest): void {
    request.log.info({ method: request.method }, 'no such route');
  }

  override writeHeadError(error: Error, request: FastifyRequest): void {
    request.log.warn({ err: error }, 'could not write the response head');
  }
}
