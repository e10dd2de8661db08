import { JitFundingRequest, JitFundingResponse } from '@afc/marqeta';
import type { Service } from '@afc/service-kit';
import { Type } from '@sinclair/typebox';
import { type JitCredentials, jitAuthenticator } from '../jit/authenticate.ts';
import type { JitAnswer } from '../jit/jit-answer.ts';
import { type JitWork, parseJitRequest } from '../jit/jit-request.ts';

export interface JitHandler {
  handle(work: JitWork, received_at_ms: number, log: Service['log']): Promise<JitAnswer>;
}

export interface JitRouteOptions {
  readonly credentials: JitCredentials;
  readonly handler: JitHandler;
  // The response stage: from the decision to the answer handed to the socket.
  readonly observe_response_seconds: (seconds: number) => void;
}

declare module 'fastify' {
  interface FastifyRequest {
    // performance.now() when the handler had its answer; 0 when it never did (401, 400).
    jit_decided_at_ms: number;
  }
}

const ErrorBody = Type.Object({ error: Type.String(), message: Type.Optional(Type.String()) });

// The hot path: one route, one script call (two on a cache miss), one answer.
export async function jitRoute(app: Service, options: JitRouteOptions): Promise<void> {
  const custom_header = options.credentials.custom_header?.name.toLowerCase();
  const authenticate = jitAuthenticator(options.credentials);
  app.decorateRequest('jit_decided_at_ms', 0);
  app.post(
    '/v1/jit',
    {
      schema: {
        body: JitFundingRequest,
        response: { 200: JitFundingResponse, 400: ErrorBody, 401: ErrorBody, 402: JitFundingResponse },
      },
      // The echo must keep the amount's JSON type (number or string) exactly: a schema-driven
      // serializer picks the first type of the union and would turn "1.00" into 1.
      serializerCompiler: () => (data) => JSON.stringify(data),
      // Before the body is parsed: an unauthenticated caller costs no parsing and changes nothing.
      // Callback-style (an async hook costs a promise per request): answering without `done`
      // ends the request here.
      onRequest: (request, reply, done) => {
        const header_value = custom_header === undefined ? undefined : request.headers[custom_header];
        if (!authenticate(request.headers.authorization, header_value)) {
          reply.header('www-authenticate', 'Basic realm="jit"');
          reply.code(401).send({ error: 'unauthorized' });
          return;
        }
        done();
      },
      onResponse: (request, _reply, done) => {
        if (request.jit_decided_at_ms > 0) {
          options.observe_response_seconds((performance.now() - request.jit_decided_at_ms) / 1_000);
        }
        done();
      },
    },
    async (request, reply) => {
      // The deadline counts from the request's arrival, body parsing and validation included.
      const received_at_ms = Math.floor(Date.now() - reply.elapsedTime);
      const parsed = parseJitRequest(request.body);
      if (!parsed.ok) return reply.code(400).send({ error: 'bad_request', message: parsed.error });
      const answer = await options.handler.handle(parsed.work, received_at_ms, request.log);
      request.jit_decided_at_ms = performance.now();
      return reply.code(answer.status).send(answer.body);
    },
  );
}
