import { describe, expect, it } from 'vitest';
import { localPlatform, type Platform } from '../src/platform.ts';
import { platformTable } from '../src/report.ts';
import type { SeedResult } from '../src/seed.ts';

const seed: SeedResult = {
  company: { id: 'company-1', name: 'Acme Travel (demo)', api_key: 'company-key' },
  cards: [{ holder: 'Ada', id: 'card-1', card_token: 'card-ada', user_token: 'u-ada', controls: '≤ 250.00' }],
  personal: { user_token: 'u-1', email: 'p@example.com', card_token: 'card-p', available_minor: 250_00 },
};

// Only the variables the table reads: the rest of the schemas' defaults apply.
const overridden = {
  API_ADMIN_KEY: 'someone-elses-admin-key-000000',
  MARQETA_ADMIN_ACCESS_TOKEN: 'someone-elses-access-token',
};

describe('the platform table of npm start', () => {
  it('prints the public local defaults, which docker-compose.yml and the README carry too', () => {
    const platform = localPlatform({});
    expect([...platform.local_default_secrets]).toEqual(
      expect.arrayContaining(['API_ADMIN_KEY', 'MARQETA_ADMIN_ACCESS_TOKEN']),
    );
    const out = platformTable(platform, seed, undefined);
    expect(out).toContain(platform.admin_key);
    expect(out).toContain(`${platform.marqeta.application_token}:${platform.marqeta.admin_access_token}`);
    expect(out).toContain('wallet 250.00 USD available');
  });

  it('never prints an admin key or a simulator token set in the environment', () => {
    const platform: Platform = localPlatform(overridden);
    expect(platform.local_default_secrets).not.toContain('API_ADMIN_KEY');
    expect(platform.local_default_secrets).not.toContain('MARQETA_ADMIN_ACCESS_TOKEN');
    const out = platformTable(platform, seed, undefined);
    expect(out).not.toContain(overridden.API_ADMIN_KEY);
    expect(out).not.toContain(overridden.MARQETA_ADMIN_ACCESS_TOKEN);
    expect(out).toContain('(API_ADMIN_KEY, not shown)');
    expect(out).toContain(`${platform.marqeta.application_token}:(MARQETA_ADMIN_ACCESS_TOKEN, not shown)`);
    // The company key is the seed's own, shown once by the api and kept in .local: still printed.
    expect(out).toContain('company-key');
  });
});
