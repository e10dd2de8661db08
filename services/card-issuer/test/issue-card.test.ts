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

const issued = (card_token: string) => h.outcomesOf(card_token, 'card_issuer.issued');
const already_issued = (card_token: string) => h.outcomesOf(card_token, 'card_issuer.already_issued');
const failed = (card_token: string) => h.outcomesOf(card_token, 'card_issuer.failed');

// card.issued / card.issue.failed deliveries of one card on the card-events queue.
function eventsOf(card_token: string, routing_key: 'card.issued' | 'card.issue.failed') {
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
  await waitUntil(() => issued(card.card_token).length > 0, { message: 'issued' });
  return command;
}

describe('card issuance', () => {
  it('issues a business card: Marqeta card, active row with its details, Redis state', async () => {
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

    expect(issued(card.card_token)).toHaveLength(1);
    expect(h.attemptsOf(command.command_id)).toBe(1);
    expect(failed(card.card_token)).toHaveLength(0);

    // Announced after the data of record and Redis, with Marqeta's details and never the PAN.
    await waitUntil(() => eventsOf(card.card_token, 'card.issued').length === 1, { message: 'card.issued' });
    const [event] = eventsOf(card.card_token, 'card.issued');
    expect(event?.message_id).toBe(`${card.card_token}:issued`);
    expect(event?.payload).toEqual({
      event_id: `${card.card_token}:issued`,
      program: 'business',
      card_token: card.card_token,
      user_token: card.user_token,
      last_four: row?.last_four,
      expiration_month: row?.expiration_month,
      expiration_year: row?.expiration_year,
      issued_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });
    expect(eventsOf(card.card_token, 'card.issue.failed')).toHaveLength(0);
  });

  it('handles the same command twice and a second command for the card: one Marqeta card, the duplicates only written through again', async () => {
    const card = await seedRequestedBusinessCard(h.app.postgres.sql);
    const command = await issueAndWait(card);
    const again = { ...command, command_id: randomUUID() };
    await h.publishCommand(command, command.command_id);
    await h.publishCommand(again, again.command_id);

    await waitUntil(() => already_issued(card.card_token).length === 2, {
      message: 'two duplicates handled',
    });
    expect(h.attemptsOf(command.command_id)).toBe(2);
    expect(h.attemptsOf(again.command_id)).toBe(1);
    expect(marqetaCardsOf(card.user_token)).toHaveLength(1);
    expect(issued(card.card_token)).toHaveLength(1);
    // Activated once: duplicates do not touch the row.
    expect(await cardRow(card.card_token)).toMatchObject({ state: 'active', version: 2 });
    // Each duplicate announces the recorded outcome again, under the same id and payload.
    await waitUntil(() => eventsOf(card.card_token, 'card.issued').length === 3, {
      message: 'three card.issued deliveries',
    });
    const [first, ...rest] = eventsOf(card.card_token, 'card.issued');
    for (const event of rest) {
      expect(event.message_id).toBe(first?.message_id);
      expect(event.payload).toEqual(first?.payload);
    }
  });

  it('a command for a card recorded issued but never announced (crash before the publish) announces it, Marqeta untouched', async () => {
    const card = await seedRequestedBusinessCard(h.app.postgres.sql);
    await h.app.postgres.sql`
      update cards set state = 'active', last_four = '4242', expiration_month = 11, expiration_year = 2030,
        version = version + 1
      where card_token = ${card.card_token}`;
    const command = issueCommand(card);
    await h.publishCommand(command, command.command_id);

    await waitUntil(() => eventsOf(card.card_token, 'card.issued').length === 1, { message: 'card.issued' });
    expect(eventsOf(card.card_token, 'card.issued')[0]?.payload).toMatchObject({
      last_four: '4242',
      expiration_month: 11,
      expiration_year: 2030,
    });
    expect(marqetaCardsOf(card.user_token)).toHaveLength(0);
    expect(already_issued(card.card_token)).toHaveLength(1);
  });

  it('a late duplicate for a card suspended since is only written through: Marqeta untouched, still suspended', async () => {
    const card = await seedRequestedBusinessCard(h.app.postgres.sql);
    const command = await issueAndWait(card);
    await h.app.postgres
      .sql`update cards set state = 'suspended', version = version + 1 where card_token = ${card.card_token}`;
    const marqeta_requests = h.sim.state.card_transitions.size;
    const late = { ...command, command_id: randomUUID() };
    await h.publishCommand(late, late.command_id);

    await waitUntil(() => already_issued(card.card_token).length === 1, { message: 'duplicate handled' });
    expect(await cardRow(card.card_token)).toMatchObject({ state: 'suspended', version: 3 });
    expect(h.sim.state.card_transitions.size).toBe(marqeta_requests);
    expect(failed(card.card_token)).toHaveLength(0);
    const state = await h.card_state.readState(card.user_token, card.card_token);
    expect(state.card).toMatchObject({ state: 'suspended' });
    await waitUntil(() => eventsOf(card.card_token, 'card.issued').length === 2, {
      message: 'card.issued again',
    });
    expect(new Set(eventsOf(card.card_token, 'card.issued').map((event) => event.message_id)).size).toBe(1);
  });

  it('parks a command for a card recorded issued without its details, announcing nothing and leaving Marqeta untouched', async () => {
    const card = await seedRequestedBusinessCard(h.app.postgres.sql);
    // The schema lets only a terminated card lack its details; no flow of ours makes one.
    await h.app.postgres
      .sql`update cards set state = 'terminated', version = version + 1 where card_token = ${card.card_token}`;
    const command = issueCommand(card);
    await h.publishCommand(command, command.command_id);

    await waitUntil(async () => (await parkedIds()).includes(command.command_id), { message: 'parked' });
    expect(h.attemptsOf(command.command_id)).toBe(3);
    expect(consumerFailures(command.command_id)).toBe(3);
    const reasons = h.log_lines.filter(
      (line) => line.includes('"amqp.consumer.failed"') && line.includes(command.command_id),
    );
    for (const line of reasons) expect(line).toContain('is issued without its details');
    expect(eventsOf(card.card_token, 'card.issued')).toHaveLength(0);
    expect([...already_issued(card.card_token), ...failed(card.card_token)]).toHaveLength(0);
    expect(marqetaCardsOf(card.user_token)).toHaveLength(0);
    expect(await cardRow(card.card_token)).toMatchObject({
      state: 'terminated',
      version: 2,
      last_four: null,
    });
    // Written through before the announcement failed: Redis still follows the data of record.
    expect((await h.card_state.readState(card.user_token, card.card_token)).card).toMatchObject({
      state: 'terminated',
    });
  });

  it('retries through the queue while Marqeta answers 500, then issues', async () => {
    const card = await seedRequestedBusinessCard(h.app.postgres.sql);
    h.sim.setFaults({ core_error_rate: 1 });
    const command = issueCommand(card);
    await h.publishCommand(command, command.command_id);
    await waitUntil(() => consumerFailures(command.command_id) >= 1, { message: 'a failed attempt' });
    h.sim.setFaults({ core_error_rate: 0 });

    await waitUntil(() => issued(card.card_token).length === 1, { message: 'issued' });
    expect(h.attemptsOf(command.command_id)).toBeGreaterThanOrEqual(2);
    expect(await cardRow(card.card_token)).toMatchObject({ state: 'active', failure_reason: null });
    expect(marqetaCardsOf(card.user_token)).toHaveLength(1);
    expect(failed(card.card_token)).toHaveLength(0);
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
    const [logged] = failed(card.card_token);
    expect(failed(card.card_token)).toHaveLength(1);
    expect(logged).toMatchObject({ marked: true, reason: row?.failure_reason });
    expect(String(logged?.marqeta_error_code)).toMatch(/^500/);
    expect(issued(card.card_token)).toHaveLength(0);
    expect(await h.card_state.readState(card.user_token, card.card_token)).toMatchObject({ card: null });
    await waitUntil(() => eventsOf(card.card_token, 'card.issue.failed').length === 1, {
      message: 'card.issue.failed',
    });
    const [event] = eventsOf(card.card_token, 'card.issue.failed');
    expect(event?.message_id).toBe(`${card.card_token}:issue_failed:${command.command_id}`);
    expect(event?.payload).toMatchObject({
      program: 'business',
      user_token: card.user_token,
      command_id: command.command_id,
      reason: row?.failure_reason,
      attempts: 3,
    });
    expect(String(event?.payload.marqeta_error_code)).toMatch(/^500/);
    expect(eventsOf(card.card_token, 'card.issued')).toHaveLength(0);
  });

  it('fails at once, without retrying, on a 4xx Marqeta will never accept (unknown card product)', async () => {
    const card = await seedRequestedBusinessCard(h.app.postgres.sql);
    const command = issueCommand(card, { card_product_token: 'no-such-product' });
    await h.publishCommand(command, command.command_id);

    await waitUntil(() => failed(card.card_token).length === 1, { message: 'failed' });
    expect(String(failed(card.card_token)[0]?.marqeta_error_code)).toMatch(/^404/);
    const row = await cardRow(card.card_token);
    expect(row?.state).toBe('failed');
    expect(row?.failure_reason).toContain('404');
    expect(h.attemptsOf(command.command_id)).toBe(1);
    expect(consumerFailures(command.command_id)).toBe(0);
    expect(await parkedIds()).not.toContain(command.command_id);
    expect(marqetaCardsOf(card.user_token)).toHaveLength(0);
    await waitUntil(() => eventsOf(card.card_token, 'card.issue.failed').length === 1, {
      message: 'card.issue.failed',
    });
    expect(eventsOf(card.card_token, 'card.issue.failed')[0]?.payload).toMatchObject({
      reason: row?.failure_reason,
      marqeta_error_code: expect.stringMatching(/^404/),
      attempts: 1,
    });
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
    expect([...issued(card.card_token), ...failed(card.card_token)]).toHaveLength(0);
    expect(h.events.filter((event) => event.payload.card_token === card.card_token)).toHaveLength(0);
    expect(await h.card_state.readState(card.user_token, card.card_token)).toMatchObject({ card: null });
  });

  it('parks a command naming another owner than the card and leaves the card as it was', async () => {
    const card = await seedRequestedBusinessCard(h.app.postgres.sql);
    const command = { ...issueCommand(card), user_token: `${card.user_token}-other` };
    await h.publishCommand(command, command.command_id);

    await waitUntil(async () => (await parkedIds()).includes(command.command_id), { message: 'parked' });
    expect(h.attemptsOf(command.command_id)).toBe(3);
    expect(await cardRow(card.card_token)).toMatchObject({
      state: 'requested',
      version: 1,
      failure_reason: null,
    });
    expect(h.sim.state.users.has(card.user_token)).toBe(false);
    expect([...issued(card.card_token), ...failed(card.card_token)]).toHaveLength(0);
    expect(h.events.filter((event) => event.payload.card_token === card.card_token)).toHaveLength(0);
  });

  it('activates the card at Marqeta when its product does not activate on issue', async () => {
    const card = await seedRequestedBusinessCard(h.app.postgres.sql);
    const command = issueCommand(card, { card_product_token: unactivated_product_token });
    await h.publishCommand(command, command.command_id);

    await waitUntil(() => issued(card.card_token).length === 1, { message: 'issued' });
    expect(h.sim.state.cards.get(card.card_token)?.object.state).toBe('ACTIVE');
    expect(await cardRow(card.card_token)).toMatchObject({ state: 'active' });
  });

  it("issues a personal card: active with Marqeta's details in the personal store and in Redis", async () => {
    const card = await seedRequestedPersonalCard(h.app.personalStore);
    const command = issueCommand(card, { program: 'personal' });
    await h.publishCommand(command, command.command_id);

    await waitUntil(() => issued(card.card_token).length === 1, { message: 'issued' });
    const [marqeta] = marqetaCardsOf(card.user_token);
    expect(marqetaCardsOf(card.user_token)).toHaveLength(1);
    const expiration = String(marqeta?.object.expiration);
    const stored = await h.app.personalStore.getCard(card.card_token);
    // The placeholders the control plane recorded (0000, 12/2099) are replaced by Marqeta's.
    expect(stored).toMatchObject({
      state: 'active',
      failure_reason: null,
      last_four: marqeta?.object.last_four,
      expiration_month: Number(expiration.slice(0, 2)),
      expiration_year: 2000 + Number(expiration.slice(2, 4)),
    });
    const state = await h.card_state.readState(card.user_token, card.card_token);
    expect(state.card).toMatchObject({
      state: 'active',
      program: 'personal',
      expiration_month: stored?.expiration_month,
      expiration_year: stored?.expiration_year,
      version: stored?.updated_at.getTime(),
    });
    await waitUntil(() => eventsOf(card.card_token, 'card.issued').length === 1, { message: 'card.issued' });
    expect(eventsOf(card.card_token, 'card.issued')[0]?.payload).toMatchObject({
      program: 'personal',
      user_token: card.user_token,
      last_four: stored?.last_four,
    });
  });

  it('marks a personal card failed with the reason on a 4xx Marqeta will never accept', async () => {
    const card = await seedRequestedPersonalCard(h.app.personalStore);
    const command = issueCommand(card, { program: 'personal', card_product_token: 'no-such-product' });
    await h.publishCommand(command, command.command_id);

    await waitUntil(() => failed(card.card_token).length === 1, { message: 'failed' });
    const stored = await h.app.personalStore.getCard(card.card_token);
    expect(stored?.state).toBe('failed');
    expect(stored?.failure_reason).toContain('404');
    expect(failed(card.card_token)[0]).toMatchObject({ marked: true, reason: stored?.failure_reason });
    expect(h.attemptsOf(command.command_id)).toBe(1);
    expect(marqetaCardsOf(card.user_token)).toHaveLength(0);
    expect(await h.card_state.readState(card.user_token, card.card_token)).toMatchObject({ card: null });

    // The same card issued later (a fixed product, a parked command replayed) becomes active.
    const retried = issueCommand(card, { program: 'personal' });
    await h.publishCommand(retried, retried.command_id);
    await waitUntil(() => issued(card.card_token).length === 1, { message: 'issued' });
    expect(await h.app.personalStore.getCard(card.card_token)).toMatchObject({
      state: 'active',
      failure_reason: null,
    });
    // Both outcomes announced, in order: the failure of the first command, then the issuance.
    await waitUntil(() => eventsOf(card.card_token, 'card.issued').length === 1, { message: 'card.issued' });
    expect(eventsOf(card.card_token, 'card.issue.failed').map((event) => event.payload)).toEqual([
      expect.objectContaining({ program: 'personal', command_id: command.command_id, attempts: 1 }),
    ]);
  });

  it('serves health, readiness and metrics', async () => {
    expect((await h.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect((await h.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
    const metrics = await h.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('afc_card_issuer_outcomes_total{outcome="issued"');
  });
});
