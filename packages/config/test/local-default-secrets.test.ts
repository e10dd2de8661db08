import { describe, expect, it } from 'vitest';
import { authorizerConfigSchema, loadConfig, localDefaultSecrets } from '../src/index.ts';

describe('localDefaultSecrets', () => {
  it('names the secrets left at their public local default, and only those', () => {
    const defaults = loadConfig(authorizerConfigSchema, {});
    if (!defaults.ok) throw new Error('defaults must load');
    expect(localDefaultSecrets(authorizerConfigSchema, defaults.config)).toContain('JIT_BASIC_PASSWORD');
    const set = loadConfig(authorizerConfigSchema, { JIT_BASIC_PASSWORD: 'a-deployment-password-of-length' });
    if (!set.ok) throw new Error('a set password must load');
    expect(localDefaultSecrets(authorizerConfigSchema, set.config)).not.toContain('JIT_BASIC_PASSWORD');
    expect(localDefaultSecrets(authorizerConfigSchema, set.config)).not.toContain('REDIS_URL');
  });
});
