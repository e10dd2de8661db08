import { createLogger } from '@afc/log';
import { captureLogs } from '@afc/testkit';
import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createService, type Service } from '../src/index.ts';

let app: Service;

beforeAll(async () => {
  app = await createService({
    name: 'validation-test',
    logger: createLogger({ name: 'validation-test', destination: captureLogs().destination }),
    body_limit_bytes: 1024,
  });
  app.post(
    '/echo',
    {
      schema: {
        body: Type.Object({ amount: Type.Union([Type.Number(), Type.String()]), count: Type.Integer() }),
        querystring: Type.Object({ limit: Type.Integer() }),
      },
    },
    async (request) => ({ body: request.body, limit: request.query.limit }),
  );
  await app.ready();
});
afterAll(async () => app.close());

describe('validation', () => {
  it('keeps body types exactly as sent and coerces query strings', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/echo?limit=5',
      payload: { amount: '1.00', count: 2 },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ body: { amount: '1.00', count: 2 }, limit: 5 });
  });

  it('refuses a body field of the wrong JSON type instead of converting it', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/echo?limit=5',
      payload: { amount: 1, count: '2' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toContain('count');
  });
});
