import { readFile } from 'node:fs/promises';
import type { RedisClient } from '@afc/redis';
import { createTestRedisPrefix } from '@afc/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CardStateStore } from '../src/index.ts';
import {
  authorization,
  business_card,
  closeClients,
  freshCard,
  outboxEvents,
  seed,
  sharedRedis,
  storeOn,
} from './helpers.ts';

// lib.lua writes JSON strings itself and leaves only strings with bytes that need escaping to
// cjson (the fast path of json_str): it must write exactly what cjson writes, for any bytes.

const prefix = createTestRedisPrefix();
let redis: RedisClient;
let store: CardStateStore;
let lib: string;

beforeAll(async () => {
  redis = await sharedRedis(prefix.prefix);
  store = await storeOn(redis);
  lib = await readFile(new URL('../lua/lib.lua', import.meta.url), 'utf8');
});

afterAll(async () => {
  await closeClients([redis]);
  await prefix.cleanup();
});

// Bytes as they can reach a script: ASCII text, the characters cjson escapes, control bytes,
// and raw bytes past ASCII (valid UTF-8 or not).
const special = fc.constantFrom(0, 1, 9, 10, 13, 31, 34, 47, 92, 127, 128, 195, 169, 240, 255);
const bytes_arb = fc
  .array(fc.oneof(fc.integer({ min: 32, max: 126 }), special), { maxLength: 48 })
  .map((list) => Buffer.from(list));

describe('JSON strings written by lib.lua', () => {
  it('are byte for byte what cjson.encode writes (property)', async () => {
    const script = `${lib}\nreturn { json_str(ARGV[1]), cjson.encode(ARGV[1]) }`;
    await fc.assert(
      fc.asyncProperty(bytes_arb, async (input) => {
        const [ours, theirs] = (await redis.callBuffer('EVAL', script, '0', input)) as [Buffer, Buffer];
        expect(ours.equals(theirs), `${input.toString('hex')}: ${ours} vs ${theirs}`).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('carry free text with quotes, slashes, control characters and Unicode into the event unchanged', async () => {
    const card = freshCard(business_card);
    await seed(store, { card });
    const merchant_name = 'Caf\u00e9 "Le/Bon" \\ \n\t\u0001 \u{1F600} \u007f';
    const request = authorization(card, {
      merchant_name,
      mid: 'mid/with"quote',
      network: 'VISA\\DPS',
      transaction_token: 'txn \u00fc',
    });
    expect(await store.decide(request)).toMatchObject({ status: 'decided', outcome: 'approve' });
    const events = await outboxEvents(redis, store, card.user_token);
    const event = events.find((e) => e.jit_token === request.jit_token);
    expect(event?.merchant).toEqual({
      mcc: request.mcc,
      mid: 'mid/with"quote',
      country: request.merchant_country,
      name: merchant_name,
    });
    expect([event?.network, event?.transaction_token]).toEqual(['VISA\\DPS', 'txn \u00fc']);
  });
});
