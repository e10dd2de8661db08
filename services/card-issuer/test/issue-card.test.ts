import { randomUUID } from 'node:crypto';
import { waitUntil } from '@afc/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startCardIssuer, unactivated_product_token } from './harness.ts';
import {
  issueCommand,
  type RequestedCard,
  seedRequestedBusinessCard,
  seedRequestedPersonalCard,
} from './seed.ts';

let h: Harness;

beforeAll(async () => {
  h = await startCardIssuer();
});

afterAll(async () => {
  await h?.close();
});

afterEach(() => {
  h.sim.setFaults({ core_error_rate: 0 });
});

interface CardRow {
  state: string;
  failure_reason: string | null;
  last_four: string | null;
  expiration_month: number | null;
  expiration_year: number | null;
  version: number;
}

async function cardRow(card_token: string): Promise<CardRow | undefined> {
  const [row] = await h.app.postgres.sql<CardRow[]>`
    select state, failure_reason, last_four, expiration_month, expiration_year, version::int as version
    from cards where card_token = ${card_token}`;
  return row;
}

function eventsOf(card_token: string, routing_key: string) {
  return h.events.filter(
    (event) => event.routing_key === routing_key && event.payload.card_token === card_token,
  );
}

function marqetaCardsOf(user_token: string) {
  return [...h.sim.state.cards.values()].filter((stored) => stored.object.user_token === user_token);
}

async function parkedIds(): Promise<(string | undefined)[]> {
  const parked = await h.app.amqp.listParked('card-issuance', 100);
  return parked.map((message) => message.message_id);
}

function consumerFailures(message_id: string): number {
  return h.log_lines.filter((line) => line.includes('"amqp.consumer.failed"') && line.includes(message_id))
    .length;
}

async function issueAndWait(card: RequestedCard) {
  const command = issueCommand(card);
  await h.publishCommand(command, command.command_id);
  await waitUntil(() => eventsOf(card.card_token, 'card.issued').length > 0, { message: 'card.issued' });
  return command;
}

describe('card issuance', () => {
  it('issues a business card: Marqeta card, active row with its details, Redis state, card.issued once', async () => {
    const card = await seedRequestedBusinessCard(h.app.postgres.sql);
    const command = await issueAndWait(card);

    const [marqeta] = marqetaCardsOf(card.user_token);
    expect(marqetaCardsOf(card.user_token)).toHaveLength(1);
    expect(marqeta?.object.token).toBe(card.card_token);
    expect(marqeta?.object.state).toBe('ACTIVE');
    expect(h.sim.state.users.has(card.user_token)).toBe(true);
    const expiration = String(marqeta?.object.expiration);
    const row = await cardRow(card.card_token);
    expect(row).toMatchObject({
      state: 'active',
      failure_reason: null,
      last_four: marqeta?.object.last_four,
      expiration_month: Number(expiration.slice(0, 2)),
      expiration_year: 2000 + Number(expiration.slice(2, 4)),
      version: 2,
    });

    const state = await h.card_state.readState(card.user_token, card.card_token);
    expect(state.card).toMatchObject({ card_token: card.card_token, state: 'active', program: 'business' });
    expect(state.controls).toMatchObject({ per_transaction_limit_minor: 50000, mcc_block: ['7995'] });
    expect(state.cardholder).toMatchObject({ user_token: card.user_token, status: 'active' });

    const issued = eventsOf(card.card_token, 'card.issued');
    expect(issued).toHaveLength(1);
    expect(issued[0]?.message_id).toBe(`${card.card_token}:issued`);
    expect(issued[0]?.payload).toMatchObject({
      event_id: `${card.card_token}:issued`,
      program: 'business',
      user_token: card.user_token,
      last_four: row?.last_four,
      expiration_month: row?.expiration_month,
      expiration_year: row?.expiration_year,
    });
    expect(h.attemptsOf(command.command_id)).toBe(1);
    expect(eventsOf(card.card_token, 'card.issue.failed')).toHaveLength(0);
  });

  it('handles the same command twice and a second command for the card: one Marqeta card, same card.issued', async () => {
    const card = await seedRequestedBusinessCard(h.app.postgres.sql);
    const command = await issueAndWait(card);
    const again = { ...command, command_id: randomUUID() };
    await h.publishCommand(command, command.command_id);
    await h.publishCommand(again, again.command_id);

    await waitUntil(() => eventsOf(card.card_token, 'card.issued').length === 3, {
      message: 'three card.issued',
    });
    expect(h.attemptsOf(command.command_id)).toBe(2);
    expect(h.attemptsOf(again.command_id)).toBe(1);
    expect(marqetaCardsOf(card.user_token)).toHaveLength(1);
    const [first, ...rest] = eventsOf(card.card_token, 'card.issued');
    for (const event of rest) {
      expect(event.message_id).toBe(first?.message_id);
      expect(event.payload).toEqual(first?.payload);
    }
    // Activated once: duplicates do not touch the row.
    expect(await cardRow(card.card_token)).toMatchObject({ state: 'active', version: 2 });
  });

  it('retries through the queue while Marqeta answers 500, then issues', async () => {
    const card = await seedRequestedBusinessCard(h.app.postgres.sql);
    h.sim.setFaults({ core_error_rate: 1 });
    const command = issueCommand(card);
    await h.publishCommand(command, command.command_id);
    await waitUntil(() => consumerFailures(command.command_id) >= 1, { message: 'a failed attempt' });
    h.sim.setFaults({ core_error_rate: 0 });

    await waitUntil(() => eventsOf(card.card_token, 'card.issued').length === 1, { message: 'card.issued' });
    expect(h.attemptsOf(command.command_id)).toBeGreaterThanOrEqual(2);
    expect(await cardRow(card.card_token)).toMatchObject({ state: 'active', failure_reason: null });
    expect(marqetaCardsOf(card.user_token)).toHaveLength(1);
    expect(eventsOf(card.card_token, 'card.issue.failed')).toHaveLength(0);
  });

  it('parks after 3 attempts of a persistent 500 and marks the card failed with the reason', async () => {
    const card = await seedRequestedBusinessCard(h.app.postgres.sql);
    h.sim.setFaults({ core_error_rate: 1 });
    const command = issueCommand(card);
    await h.publishCommand(command, command.command_id);

    await waitUntil(async () => (await parkedIds()).includes(command.command_id), { message: 'parked' });
    expect(h.attemptsOf(command.command_id)).toBe(3);
    const row = await cardRow(card.card_token);
    expect(row?.state).toBe('failed');
    expect(row?.failure_reason).toMatch(/^retries exhausted: Marqeta answered 500/);
    await waitUntil(() => eventsOf(card.card_token, 'card.issue.failed').length === 1, {
      message: 'failed event',
    });
    const [failed] = eventsOf(card.card_token, 'card.issue.failed');
    expect(failed?.message_id).toBe(`${card.card_token}:failed`);
    expect(failed?.payload).toMatchObject({
      program: 'business',
      user_token: card.user_token,
      reason: row?.failure_reason,
    });
    expect(String(failed?.payload.marqeta_error_code)).toMatch(/^500/);
    expect(eventsOf(card.card_token, 'card.issued')).toHaveLength(0);
    expect(await h.card_state.readState(card.user_token, card.card_token)).toMatchObject({ card: null });
  });

  it('fails at once, without retrying, on a 4xx Marqeta will never accept (unknown card product)', async () => {
    const card = await seedRequestedBusinessCard(h.app.postgres.sql);
    const command = issueCommand(card, { card_product_token: 'no-such-product' });
    await h.publishCommand(command, command.command_id);

    await waitUntil(() => eventsOf(card.card_token, 'card.issue.failed').length === 1, {
      message: 'failed event',
    });
    const [failed] = eventsOf(card.card_token, 'card.issue.failed');
    expect(String(failed?.payload.marqeta_error_code)).toMatch(/^404/);
    const row = await cardRow(card.card_token);
    expect(row?.state).toBe('failed');
    expect(row?.failure_reason).toContain('404');
    expect(h.attemptsOf(command.command_id)).toBe(1);
    expect(consumerFailures(command.command_id)).toBe(0);
    expect(await parkedIds()).not.toContain(command.command_id);
    expect(marqetaCardsOf(card.user_token)).toHaveLength(0);
  });

  it('parks a malformed command and writes nothing', async () => {
    const card = await seedRequestedBusinessCard(h.app.postgres.sql);
    const { command_id: _, ...without_id } = issueCommand(card);
    const message_id = randomUUID();
    await h.publishCommand({ ...without_id, program: 'corporate' }, message_id);

    await waitUntil(async () => (await parkedIds()).includes(message_id), { message: 'parked' });
    expect(h.attemptsOf(message_id)).toBe(3);
    expect(await cardRow(card.card_token)).toMatchObject({ state: 'requested', version: 1, last_four: null });
    expect(h.sim.state.users.has(card.user_token)).toBe(false);
    expect(h.events.filter((event) => event.payload.card_token === card.card_token)).toHaveLength(0);
    expect(await h.card_state.readState(card.user_token, card.card_token)).toMatchObject({ card: null });
  });

  it('activates the card at Marqeta when its product does not activate on issue', async () => {
    const card = await seedRequestedBusinessCard(h.app.postgres.sql);
    const command = issueCommand(card, { card_product_token: unactivated_product_token });
    await h.publishCommand(command, command.command_id);

    await waitUntil(() => eventsOf(card.card_token, 'card.issued').length === 1, { message: 'card.issued' });
    expect(h.sim.state.cards.get(card.card_token)?.object.state).toBe('ACTIVE');
    expect(await cardRow(card.card_token)).toMatchObject({ state: 'active' });
  });

  it('issues a personal card: active in the personal store and in Redis, card.issued', async () => {
    const card = await seedRequestedPersonalCard(h.app.personalStore);
    const command = issueCommand(card, { program: 'personal' });
    await h.publishCommand(command, command.command_id);

    await waitUntil(() => eventsOf(card.card_token, 'card.issued').length === 1, { message: 'card.issued' });
    expect((await h.app.personalStore.getCard(card.card_token))?.state).toBe('active');
    expect(marqetaCardsOf(card.user_token)).toHaveLength(1);
    const state = await h.card_state.readState(card.user_token, card.card_token);
    expect(state.card).toMatchObject({ state: 'active', program: 'personal' });
    expect(eventsOf(card.card_token, 'card.issued')[0]?.payload).toMatchObject({ program: 'personal' });
  });

  it('serves health, readiness and metrics', async () => {
    expect((await h.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect((await h.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
    const metrics = await h.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('afc_card_issuer_outcomes_total{outcome="issued"');
  });
});
