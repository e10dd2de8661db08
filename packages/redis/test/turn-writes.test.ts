import type { Writable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { uniqueTestId } from '@afc/testkit';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalesceTurnWrites } from '../src/index.ts';
import { closeAll, readyClient } from './helpers.ts';

// Counts what reaches the socket: _write carries one chunk, _writev several (Writable's hooks).
function countWrites(stream: Writable): { single: number; vectored: number[]; restore(): void } {
  const counts = { single: 0, vectored: [] as number[] };
  const target = stream as Writable & { _write: Writable['_write']; _writev?: Writable['_writev'] };
  const write = target._write;
  const writev = target._writev;
  if (writev === undefined) throw new Error('a socket writes vectors');
  target._write = function (this: Writable, ...args) {
    counts.single += 1;
    return write.apply(this, args);
  };
  target._writev = function (this: Writable, chunks, callback) {
    counts.vectored.push(chunks.length);
    return writev.call(this, chunks, callback);
  };
  return {
    get single() {
      return counts.single;
    },
    vectored: counts.vectored,
    restore() {
      target._write = write;
      target._writev = writev;
    },
  };
}

describe('coalesceTurnWrites against the real Redis', () => {
  let client: Redis;

  beforeAll(async () => {
    client = (await readyClient(`${uniqueTestId('turn')}:`)) as Redis;
  });

  afterAll(async () => {
    await closeAll([client]);
  });

  it('sends the commands of one turn in one write, at the end of the turn', async () => {
    await nextTurn();
    const writes = countWrites(client.stream);
    try {
      coalesceTurnWrites(client);
      coalesceTurnWrites(client); // once per turn, however often it is asked
      const replies = Array.from({ length: 10 }, (_, i) => client.set(`k${i}`, String(i)));
      expect(client.stream.writableCorked).toBe(1);
      expect(writes.single + writes.vectored.length).toBe(0);
      expect(await Promise.all(replies)).toEqual(Array(10).fill('OK'));
      expect(writes.single).toBe(0);
      expect(writes.vectored).toEqual([10]);
      expect(client.stream.writableCorked).toBe(0);
      expect(await client.get('k9')).toBe('9');
    } finally {
      writes.restore();
    }
  });

  it('leaves a turn without it alone: each command is written at once', async () => {
    await nextTurn();
    const writes = countWrites(client.stream);
    try {
      const replies = Array.from({ length: 3 }, (_, i) => client.set(`k${i}`, 'x'));
      expect(writes.single + writes.vectored.length).toBeGreaterThan(0);
      await Promise.all(replies);
    } finally {
      writes.restore();
    }
  });
});
