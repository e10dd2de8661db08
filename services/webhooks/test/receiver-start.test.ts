import { signBody } from '@afc/marqeta-sim';
import { localServiceUrls, TcpProxy } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic_auth, type Harness, signature_secret, startWebhooks } from './harness.ts';

const postgres_port = Number(new URL(localServiceUrls.postgres).port || 5432);
const redis_port = Number(new URL(localServiceUrls.redis).port || 6379);

// Both refuse every connection from the start: the service starts while they are away.
const postgres_proxy = new TcpProxy({ target_port: postgres_port });
const redis_proxy = new TcpProxy({ target_port: redis_port });
let h: Harness;

beforeAll(async () => {
  const pg_port = await postgres_proxy.start();
  const redis_port_proxied = await redis_proxy.start();
  postgres_proxy.cut();
  redis_proxy.cut();
  h = await startWebhooks({
    consumer: true,
    database_url: (database) => {
      const url = new URL(database.url);
      url.port = String(pg_port);
      return url.toString();
    },
    redis_url: `redis://127.0.0.1:${redis_port_proxied}`,
    env: { PG_CONNECT_TIMEOUT_MS: '500', REDIS_COMMAND_TIMEOUT_MS: '500' },
  });
});
afterAll(async () => {
  await h?.close();
  await postgres_proxy.stop();
  await redis_proxy.stop();
});

describe('a start while the data of record and Redis are away', () => {
  it("starts, says so, and accepts Marqeta's deliveries into the queue", async () => {
    expect(h.log_lines.some((line) => line.includes('"postgres.unavailable_at_start"'))).toBe(true);
    expect(h.log_lines.some((line) => line.includes('"redis.unavailable_at_start"'))).toBe(true);
    const body = JSON.stringify({
      cardtransitions: [
        {
          token: 'ct-start-1',
          card_token: 'c-start',
          state: 'SUSPENDED',
          created_time: '2026-03-09T10:00:00Z',
        },
      ],
    });
    const response = await h.app.inject({
      method: 'POST',
      url: '/v1/webhooks/marqeta',
      headers: {
        'content-type': 'application/json',
        authorization: basic_auth,
        'x-marqeta-signature': signBody(body, signature_secret, 'HMAC_SHA_256'),
      },
      payload: body,
    });
    expect(response.statusCode, response.body).toBe(200);
    // Ready: the broker is the receiver's only critical dependency.
    expect((await h.app.inject({ url: '/ready' })).statusCode).toBe(200);
  });
});
