import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../src/auth/api-keys.ts';
import { admin_key, bearer, createCompany, createUser, type Harness, startApi } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startApi();
});
afterAll(async () => h.close());

describe('API keys', () => {
  it('the admin key creates a company and a key shown once, stored as its sha256', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: '/v1/companies',
      headers: bearer(admin_key),
      payload: { name: 'Acme Ltd' },
    });
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body.company).toMatchObject({ name: 'Acme Ltd', status: 'active' });
    expect(body.api_key.key).toMatch(/^afc_[A-Za-z0-9_-]{43}$/);
    const rows = await h.app.postgres.sql<{ key_hash: string; key_prefix: string; company_id: string }[]>`
      select key_hash, key_prefix, company_id from api_keys`;
    expect(rows).toEqual([
      {
        key_hash: hashKey(body.api_key.key),
        key_prefix: body.api_key.key.slice(0, 12),
        company_id: body.company.id,
      },
    ]);
    const own = await h.app.inject({
      url: `/v1/companies/${body.company.id}`,
      headers: bearer(body.api_key.key),
    });
    expect(own.statusCode).toBe(200);
    // The key itself is never logged; its prefix is. Of the configured admin key, not even that.
    expect(h.log_lines.join('')).not.toContain(body.api_key.key);
    expect(h.log_lines.join('')).toContain(body.api_key.key_prefix);
    expect(h.log_lines.join('')).not.toContain(admin_key.slice(0, 12));
  });

  it('401 without a key, with a wrong one, or with a malformed header', async () => {
    for (const headers of [
      {},
      bearer('afc_wrong-key'),
      { authorization: 'Basic abc' },
      { 'x-api-key': 'nope' },
    ]) {
      const response = await h.app.inject({
        method: 'POST',
        url: '/v1/companies',
        headers,
        payload: { name: 'X' },
      });
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer realm="api"');
    }
    const [row] = await h.app.postgres.sql<
      { n: number }[]
    >`select count(*)::int as n from companies where name = 'X'`;
    expect(row?.n).toBe(0);
  });

  it('a company key cannot create companies or keys (403) and sees no other company (404)', async () => {
    const a = await createCompany(h.app, 'A');
    const b = await createCompany(h.app, 'B');
    const create = await h.app.inject({
      method: 'POST',
      url: '/v1/companies',
      headers: bearer(a.key),
      payload: { name: 'C' },
    });
    expect(create.statusCode).toBe(403);
    const key = await h.app.inject({
      method: 'POST',
      url: `/v1/companies/${b.company_id}/api-keys`,
      headers: bearer(a.key),
      payload: {},
    });
    expect(key.statusCode).toBe(403);
    const other = await h.app.inject({ url: `/v1/companies/${b.company_id}`, headers: bearer(a.key) });
    expect(other.statusCode).toBe(404);
  });

  it('a second key works for its company; the admin key is refused on company resources', async () => {
    const a = await createCompany(h.app, 'A2');
    const issued = await h.app.inject({
      method: 'POST',
      url: `/v1/companies/${a.company_id}/api-keys`,
      headers: bearer(admin_key),
      payload: { key_name: 'ci' },
    });
    expect(issued.statusCode).toBe(201);
    const user = await createUser(h.app, { company_id: a.company_id, key: issued.json().key });
    const by_first_key = await h.app.inject({ url: `/v1/users/${user.id}`, headers: { 'x-api-key': a.key } });
    expect(by_first_key.statusCode).toBe(200);
    const by_admin = await h.app.inject({ url: `/v1/users/${user.id}`, headers: bearer(admin_key) });
    expect(by_admin.statusCode).toBe(403);
  });

  it('serves the OpenAPI document with every route', async () => {
    const response = await h.app.inject({ url: '/documentation/json' });
    expect(response.statusCode).toBe(200);
    const paths = Object.keys(response.json().paths).sort();
    expect(paths).toEqual([
      '/v1/cards',
      '/v1/cards/{id}',
      '/v1/cards/{id}/controls',
      '/v1/cards/{id}/events',
      '/v1/cards/{id}/transactions',
      '/v1/cards/{id}/transitions',
      '/v1/companies',
      '/v1/companies/{id}',
      '/v1/companies/{id}/api-keys',
      '/v1/personal/cards',
      '/v1/personal/cards/{token}',
      '/v1/personal/cards/{token}/events',
      '/v1/personal/cards/{token}/transactions',
      '/v1/personal/cards/{token}/transitions',
      '/v1/personal/users',
      '/v1/personal/users/{token}',
      '/v1/personal/users/{token}/deposits',
      '/v1/personal/users/{token}/transactions',
      '/v1/users',
      '/v1/users/{id}',
      '/v1/users/{id}/transactions',
    ]);
  });
});
