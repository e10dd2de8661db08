import { describe, expect, it } from 'vitest';
import {
  counterWindow,
  default_partitions,
  fnv1a32,
  outboxKey,
  partitionOf,
  RedisKeyError,
  redis_error_codes,
  userKeyspace,
} from '../src/index.ts';
import { allKeys, hashTagOf } from './helpers.ts';

describe('fnv1a32 and partitionOf', () => {
  it('match the published FNV-1a 32-bit vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('hashes UTF-8 bytes, not UTF-16 code units', () => {
    // 'é' is C3 A9 in UTF-8: two rounds of FNV-1a.
    let expected = 0x811c9dc5;
    for (const byte of [0xc3, 0xa9]) expected = Math.imul(expected ^ byte, 0x01000193) >>> 0;
    expect(fnv1a32('é')).toBe(expected);
  });

  it('gives the partition vectors of the README (P = 64 and P = 16)', () => {
    expect(default_partitions).toBe(64);
    const vectors: Array<[string, number, number, number]> = [
      ['user-0001', 0xbe2de78a, 10, 10],
      ['usr_8f2c1e4a', 0xb50b2dbe, 62, 14],
      ['acme.employee.42', 0xae84e5e1, 33, 1],
      ['a', 0xe40c292c, 44, 12],
    ];
    for (const [token, hash, p64, p16] of vectors) {
      expect(fnv1a32(token)).toBe(hash);
      expect(partitionOf(token)).toBe(p64);
      expect(partitionOf(token, 16)).toBe(p16);
    }
  });

  it('spreads users over every partition', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 2_000; i += 1) seen.add(partitionOf(`user-${i}`));
    expect(seen.size).toBe(64);
  });

  it('rejects tokens outside the safe charset with a coded error', () => {
    for (const bad of ['', 'a{b', 'a}b', '{1}', 'a:b', 'a b', 'é', 'a*', 'x'.repeat(129)]) {
      expect(() => partitionOf(bad)).toThrow(RedisKeyError);
      expect(() => userKeyspace(bad)).toThrow(expect.objectContaining({ code: redis_error_codes.key }));
    }
    const keys = userKeyspace('user-0001');
    expect(() => keys.cardState('c}1')).toThrow(RedisKeyError);
    expect(() => keys.hold('jit:1')).toThrow(RedisKeyError);
    expect(() => keys.decision('{0}')).toThrow(RedisKeyError);
    expect(() => keys.cardCounter('c{', 'day', new Date())).toThrow(RedisKeyError);
    expect(partitionOf('x'.repeat(128))).toBeGreaterThanOrEqual(0);
  });
});

describe('userKeyspace', () => {
  it('lays out every key of a user exactly as the README table says', () => {
    const keys = userKeyspace('user-0001');
    const at = new Date(Date.UTC(2026, 0, 15, 23, 59));
    expect(keys.partition).toBe(10);
    expect(keys.tag).toBe('{10}');
    expect(keys.cardholderState).toBe('{10}:user:user-0001:state');
    expect(keys.cardState('card-1')).toBe('{10}:card:card-1:state');
    expect(keys.cardControls('card-1')).toBe('{10}:card:card-1:controls');
    expect(keys.cardLoaderLock('card-1')).toBe('{10}:card:card-1:loader');
    expect(keys.cardCounter('card-1', 'day', at)).toBe('{10}:card:card-1:ctr:day:20260115');
    expect(keys.cardCounter('card-1', 'week', at)).toBe('{10}:card:card-1:ctr:week:20260112');
    expect(keys.cardCounter('card-1', 'month', at)).toBe('{10}:card:card-1:ctr:month:20260101');
    expect(keys.userCounter('month', at)).toBe('{10}:user:user-0001:ctr:month:20260101');
    expect(keys.hold('jit-1')).toBe('{10}:hold:jit-1');
    expect(keys.decision('jit-1')).toBe('{10}:decision:jit-1');
    expect(keys.outbox).toBe('{10}:outbox');
    expect(outboxKey(10)).toBe('{10}:outbox');
  });

  it('makes {p} the first hash tag of every key, behind a brace-free prefix', () => {
    for (let i = 0; i < 200; i += 1) {
      const user = `u.${i}_x-${i * 7}`;
      const keys = userKeyspace(user);
      for (const key of allKeys(keys, `card-${i}`, `jit.${i}`)) {
        expect(hashTagOf(`afc:prod:${key}`)).toBe(String(keys.partition));
        expect(hashTagOf(key)).toBe(String(keys.partition));
      }
    }
  });
});

describe('counterWindow', () => {
  it('starts UTC days, ISO weeks (Monday) and months, and expires after the window plus grace', () => {
    // Sunday 2026-03-01 23:30 UTC: still the week of Monday 2026-02-23.
    const at = new Date(Date.UTC(2026, 2, 1, 23, 30));
    expect(counterWindow('day', at)).toMatchObject({ start: '20260301', end_ms: Date.UTC(2026, 2, 2) });
    expect(counterWindow('week', at)).toMatchObject({ start: '20260223', end_ms: Date.UTC(2026, 2, 2) });
    expect(counterWindow('month', at)).toMatchObject({ start: '20260301', end_ms: Date.UTC(2026, 3, 1) });
    const monday = counterWindow('week', new Date(Date.UTC(2026, 1, 23)));
    expect(monday.start).toBe('20260223');
    const december = counterWindow('month', new Date(Date.UTC(2026, 11, 31, 23, 59, 59)));
    expect(december).toMatchObject({ start: '20261201', end_ms: Date.UTC(2027, 0, 1) });
    for (const window of ['day', 'week', 'month'] as const) {
      const info = counterWindow(window, at);
      expect(info.start_ms).toBeLessThanOrEqual(at.getTime());
      expect(info.end_ms).toBeGreaterThan(at.getTime());
      expect(info.expire_at_ms - info.end_ms).toBe(2 * 24 * 60 * 60 * 1000);
    }
  });
});
