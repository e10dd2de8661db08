import { describe, expect, it } from 'vitest';
import { jitAuthenticator } from '../src/jit/authenticate.ts';

const basic = (text: string) => `Basic ${Buffer.from(text, 'utf8').toString('base64')}`;

describe('JIT Basic authentication', () => {
  const authenticate = jitAuthenticator({
    username: 'marqeta',
    password: 'p\u00e4ss:word',
    custom_header: { name: 'x-jit-secret', value: 'header-secret' },
  });

  it('accepts the configured credentials and custom header, whatever the scheme case and spacing', () => {
    expect(authenticate(basic('marqeta:p\u00e4ss:word'), 'header-secret')).toBe(true);
    expect(authenticate(`  basic ${basic('marqeta:p\u00e4ss:word').slice(6)} `, 'header-secret')).toBe(true);
  });

  it('refuses a wrong username, password or custom header, and anything not Basic', () => {
    for (const [authorization, header] of [
      [basic('marqetA:p\u00e4ss:word'), 'header-secret'],
      [basic('marqeta:p\u00e4ss:wore'), 'header-secret'],
      [basic('marqeta:p\u00e4ss:word'), 'header-secreT'],
      [basic('marqeta:p\u00e4ss:word'), undefined],
      [basic('marqeta:p\u00e4ss:word'), ['header-secret']],
      [basic('marqeta'), 'header-secret'],
      [basic(':marqeta:p\u00e4ss:word'), 'header-secret'],
      ['Bearer abc', 'header-secret'],
      [undefined, 'header-secret'],
      [[basic('marqeta:p\u00e4ss:word')], 'header-secret'],
    ] as const) {
      expect(authenticate(authorization as never, header as never), String(authorization)).toBe(false);
    }
  });

  it('refuses to start with a username holding a colon (it could never match)', () => {
    expect(() => jitAuthenticator({ username: 'a:b', password: 'c' })).toThrow();
  });

  it('needs no custom header when none is configured', () => {
    const plain = jitAuthenticator({ username: 'u', password: 'p' });
    expect(plain(basic('u:p'), undefined)).toBe(true);
    expect(plain(basic('u:q'), undefined)).toBe(false);
  });
});
