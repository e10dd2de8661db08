import { partitionOf } from '@afc/redis';
import { localServiceUrls } from '@afc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  basic_auth,
  type Harness,
  jit_password,
  jitBody,
  nextToken,
  postJit,
  startAuthorizer,
} from './harness.ts';
import { redisSnapshot } from './redis-snapshot.ts';
import { type SeededCard, seedBusinessCard, seedPersonalCard } from './seed.ts';

let h: Harness;
let card: SeededCard;

beforeAll(async () => {
  h = await startAuthorizer({
    env: { JIT_CUSTOM_HEADER_NAME: 'x-jit-secret', JIT_CUSTOM_HEADER_VALUE: 'custom-header-secret-value' },
  });
  card = await seedBusinessCard(h.app.postgres.sql, { controls: { daily_limit_minor: 100_000 } });
  // One approval first, so the snapshot has state that a bad request could disturb.
  const warm = await h.app.inject({
    method: 'POST',
    url: '/v1/jit',
    headers: { authorization: basic_auth, 'x-jit-secret': 'custom-header-secret-value' },
    payload: jitBody(card),
  });
  expect(warm.statusCode).toBe(200);
});
afterAll(async () => h.close());

const good_headers = { authorization: basic_auth, 'x-jit-secret': 'custom-header-secret-value' };

async function expectUnchanged<R extends { statusCode: number }>(
  send: () => Promise<R>,
  status: number,
): Promise<R> {
  const before = await redisSnapshot(localServiceUrls.redis, h.redis_prefix.prefix);
  const response = await send();
  expect(response.statusCode).toBe(status);
  expect(await redisSnapshot(localServiceUrls.redis, h.redis_prefix.prefix)).toBe(before);
  return response;
}

function send(payload: string | object, headers: Record<string, string> = good_headers) {
  return () =>
    h.app.inject({
      method: 'POST',
      url: '/v1/jit',
      headers: { 'content-type': 'application/json', ...headers },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
}

describe('bad input changes nothing', () => {
  it('401 without credentials, with wrong ones, or without the custom header', async () => {
    const body = jitBody(card);
    await expectUnchanged(send(body, { 'x-jit-secret': 'custom-header-secret-value' }), 401);
    const wrong = `Basic ${Buffer.from(`marqeta-jit:${jit_password}x`).toString('base64')}`;
    await expectUnchanged(
      send(body, { authorization: wrong, 'x-jit-secret': 'custom-header-secret-value' }),
      401,
    );
    await expectUnchanged(send(body, { authorization: basic_auth }), 401);
    await expectUnchanged(send(body, { authorization: 'Bearer abc', 'x-jit-secret': 'x' }), 401);
  });

  it('400 for malformed JSON, missing or mistyped fields, hostile tokens', async () => {
    await expectUnchanged(send('{"card_token": '), 400);
    const body = jitBody(card);
    const { card_token: _, ...without_card } = body;
    await expectUnchanged(send(without_card), 400);
    await expectUnchanged(send({ ...body, currency_code: 12 }), 400);
    await expectUnchanged(send({ ...body, card_token: '{0}:card' }), 400);
    const funding = body.gpa_order?.jit_funding;
    await expectUnchanged(send({ ...body, gpa_order: { jit_funding: { ...funding, amount: [1] } } }), 400);
    await expectUnchanged(
      send({ ...body, gpa_order: { jit_funding: { ...funding, token: undefined } } }),
      400,
    );
    await expectUnchanged(send({ ...body, gpa_order_unload: body.gpa_order }), 400);
    const { gpa_order: __, ...no_funding } = body;
    await expectUnchanged(send(no_funding), 400);
  });

  it('413 for a body past the limit', async () => {
    const body = { ...jitBody(card), padding: 'x'.repeat(h.config.JIT_BODY_LIMIT_BYTES) };
    await expectUnchanged(send(body), 413);
  });

  it('declines amounts that cannot be money and changes nothing', async () => {
    const body = jitBody({ ...card, amount: '1.001' });
    const response = await expectUnchanged(send(body), 402);
    expect(response.json()).toMatchObject({ jit_funding: { decline_reason: 'INVALID_AMOUNT' } });
    const unknown_currency = await expectUnchanged(send(jitBody({ ...card, currency_code: 'XYZ' })), 402);
    expect(unknown_currency.json()).toMatchObject({ jit_funding: { memo: 'currency_unknown' } });
  });

  it('declines an unknown card or cardholder, and a card sent with another cardholder, and changes nothing', async () => {
    const declined = async (body: object) => {
      const response = await expectUnchanged(send(body), 402);
      return (response.json() as { jit_funding: { decline_reason: string; memo: string } }).jit_funding;
    };
    const invalid = (memo: string) => ({ decline_reason: 'INVALID_CARD', memo });
    const nobody = { card_token: nextToken('no-card'), user_token: nextToken('no-user') };
    const unknown_card = jitBody(nobody);
    expect(await declined(unknown_card)).toEqual(expect.objectContaining(invalid('card_not_found')));
    // Marqeta's retry of the same message: declined the same way, and still nothing stored.
    expect(await declined(unknown_card)).toEqual(expect.objectContaining(invalid('card_not_found')));
    expect(await declined(jitBody({ ...card, user_token: nextToken('no-user') }))).toEqual(
      expect.objectContaining(invalid('card_user_mismatch')),
    );
    // A card not yet in Redis, named with another cardholder: its owner's state is not loaded.
    const cold = await seedBusinessCard(h.app.postgres.sql);
    const owner = await seedBusinessCard(h.app.postgres.sql);
    expect(await declined(jitBody({ ...cold, user_token: owner.user_token }))).toEqual(
      expect.objectContaining(invalid('card_user_mismatch')),
    );
    // The same for a personal card (its data of record is the personal store).
    const personal = await seedPersonalCard(h.app.personalStore, 1_000);
    expect(await declined(jitBody({ ...personal, user_token: owner.user_token }))).toEqual(
      expect.objectContaining(invalid('card_user_mismatch')),
    );
    // A cardholder whose partition holds the card's state: the script itself declines.
    const partitions = h.config.REDIS_PARTITIONS;
    const neighbours = Array.from({ length: 5_000 }, () => nextToken('neighbour'));
    const neighbour = neighbours.find(
      (token) => partitionOf(token, partitions) === partitionOf(card.user_token, partitions),
    );
    if (neighbour === undefined) throw new Error("no token in the card owner's partition");
    expect(await declined(jitBody({ ...card, user_token: neighbour }))).toEqual(
      expect.objectContaining(invalid('card_user_mismatch')),
    );
  });

  it('a good request does change the snapshot (the check above can fail)', async () => {
    const before = await redisSnapshot(localServiceUrls.redis, h.redis_prefix.prefix);
    const response = await send(jitBody(card))();
    expect(response.statusCode).toBe(200);
    expect(await redisSnapshot(localServiceUrls.redis, h.redis_prefix.prefix)).not.toBe(before);
  });

  it('logs no credentials', async () => {
    await postJit(h.app, jitBody(card));
    const output = h.log_lines.join('');
    expect(output).not.toContain(jit_password);
    expect(output).not.toContain(basic_auth.slice(6));
    expect(output).not.toContain('custom-header-secret-value');
  });
});
