import { createLogger } from '@afc/log';
import { JitFundingRequest } from '@afc/marqeta';
import { Ajv } from 'ajv';
import Fastify, { type FastifyBaseLogger } from 'fastify';

// The floor the authorizer is compared with: the same HTTP server, JSON body parsing (same
// body limit and prototype-poisoning checks) and JitFundingRequest validation (same Ajv
// options as the authorizer's route), then a fixed answer: no authentication, no Redis, no
// decision, no metrics. Run as its own process, like the authorizer.

const port = Number(process.env.PORT ?? '0');
const host = process.env.HOST ?? '127.0.0.1';
const body_limit_bytes = Number(process.env.JIT_BODY_LIMIT_BYTES ?? '65536');
const logger: FastifyBaseLogger = createLogger({ name: 'bench-baseline', level: 'warn' });

const jit_ajv = new Ajv({
  coerceTypes: false,
  useDefaults: false,
  removeAdditional: false,
  allErrors: false,
});

const app = Fastify({
  loggerInstance: logger,
  bodyLimit: body_limit_bytes,
  onProtoPoisoning: 'error',
  onConstructorPoisoning: 'error',
  keepAliveTimeout: 72_000,
  requestTimeout: 10_000,
});

const fixed_answer = {
  jit_funding: { token: 'baseline', method: 'pgfs.authorization', user_token: 'baseline', amount: '1.00' },
};

app.post(
  '/v1/jit',
  {
    schema: { body: JitFundingRequest },
    validatorCompiler: ({ schema }) => jit_ajv.compile(schema),
    serializerCompiler: () => (data) => JSON.stringify(data),
  },
  async (_request, reply) => reply.code(200).send(fixed_answer),
);
app.get('/health', async () => ({ status: 'healthy' }));

await app.listen({ host, port });

// Bounded graceful stop: the benchmark sends SIGTERM and waits a few seconds at most.
process.once('SIGTERM', () => {
  const timer = setTimeout(() => process.exit(1), 5_000);
  timer.unref();
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
