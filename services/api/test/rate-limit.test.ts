import { afterAll, beforeAll, expect, it } from 'vitest';
import { admin_key, bearer, createCompany, type Harness, startApi } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startApi({ API_RATE_LIMIT_PER_MINUTE: '3' });
});
afterAll(async () => h.close());

it('answers 429 with Retry-After past the limit, per key', async () => {
  const tenant = await createCompany(h.app);
  const url = `/v1/companies/${tenant.company_id}`;
  for (let i = 0; i < 3; i += 1) {
    expect((await h.app.inject({ url, headers: bearer(tenant.key) })).statusCode).toBe(200);
  }
  const limited = await h.app.inject({ url, headers: bearer(tenant.key) });
  expect(limited.statusCode).toBe(429);
  expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  expect(limited.json()).toMatchObject({ error: 'too_many_requests' });
  // Counted per key: the admin (one call used to create the company) still has room.
  expect((await h.app.inject({ url, headers: bearer(admin_key) })).statusCode).toBe(200);
});
