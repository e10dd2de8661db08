// The demo program, seeded through the api's routes (cards issued by the card-issuer through
// Marqeta, as in production) and idempotently: what was created is remembered in a local file
// (the api shows a company key once and has no listings), checked against the api at the next
// start, and only what is missing is created again.
import assert from 'node:assert/strict';
import type { Logger } from '@afc/log';
import { isMarqetaError, type MarqetaClient, MarqetaHttpError } from '@afc/marqeta';
import {
  personalCardState,
  requestBusinessCard,
  requestPersonalCard,
  waitBusinessCardIssued,
  waitPersonalCardIssued,
} from './card-issuance.ts';
import { bearer, callJson, expectStatus } from './http.ts';
import type { Platform } from './platform.ts';

export interface SeededCard {
  readonly holder: string;
  readonly id: string;
  readonly card_token: string;
  readonly user_token: string;
  readonly controls: string;
}

export interface SeedState {
  company?: { id: string; name: string; api_key: string };
  employees: Record<string, { id: string; user_token: string }>;
  cards: Record<string, { id: string; card_token: string; user_token: string }>;
  personal?: { user_token: string; email: string; card_token?: string };
}

// Where the state lives between starts (a file in `npm start`, memory in tests).
export interface SeedStore {
  load(): SeedState | undefined;
  save(state: SeedState): void;
}

export interface SeedResult {
  readonly company: { readonly id: string; readonly name: string; readonly api_key: string };
  readonly cards: readonly SeededCard[];
  readonly personal: {
    readonly user_token: string;
    readonly email: string;
    readonly card_token: string;
    readonly available_minor: number;
  };
}

interface Employee {
  readonly key: string;
  readonly email: string;
  readonly full_name: string;
  readonly role: 'admin' | 'manager' | 'employee';
  readonly controls: Record<string, unknown>;
  readonly summary: string;
}

export const demo_company_name = 'Acme Travel (demo)';
const employees: readonly Employee[] = [
  {
    key: 'ada',
    email: 'ada@acme.example',
    full_name: 'Ada Lovelace',
    role: 'manager',
    controls: { per_transaction_limit_minor: 250_00, daily_limit_minor: 500_00, mcc_block: ['7995'] },
    summary: '≤ 250.00 a purchase, ≤ 500.00 a day, no casinos (7995)',
  },
  {
    key: 'ben',
    email: 'ben@acme.example',
    full_name: 'Ben Okafor',
    role: 'employee',
    controls: { daily_count_limit: 10, blocked_countries: ['PRK', 'IRN'] },
    summary: '≤ 10 purchases a day, not in PRK/IRN',
  },
  {
    key: 'cleo',
    email: 'cleo@acme.example',
    full_name: 'Cleo Martin',
    role: 'employee',
    controls: { mcc_allow: ['5411', '5812', '4121'], monthly_limit_minor: 1_000_00 },
    summary: 'groceries, restaurants, rides only; ≤ 1000.00 a month',
  },
];

export const personal_email = 'pat@example.com';
// 0.005 BTC at 50 000 USD/BTC: 250.00 USD in the wallet. Deposit ids are unique across all
// wallets: the cardholder's token (at most 36 characters with the prefix, as the api allows)
// makes it this seed's own.
const personal_deposit = { crypto_currency: 'BTC', crypto_amount: '0.005', rate: '50000' };

interface SeedContext {
  readonly platform: Platform;
  readonly marqeta: MarqetaClient;
  readonly store: SeedStore;
  readonly state: SeedState;
  readonly logger: Logger;
}

export async function seedDemoProgram(
  platform: Platform,
  marqeta: MarqetaClient,
  store: SeedStore,
  logger: Logger,
): Promise<SeedResult> {
  const state = store.load() ?? { employees: {}, cards: {} };
  const ctx: SeedContext = { platform, marqeta, store, state, logger };
  const company = await ensureCompany(ctx);
  const cards: SeededCard[] = [];
  for (const employee of employees) cards.push(await ensureEmployeeCard(ctx, company.api_key, employee));
  const personal = await ensurePersonal(ctx);
  return { company, cards, personal };
}

function api(ctx: SeedContext, path: string): string {
  return `${ctx.platform.urls.api}${path}`;
}

// What the api says about something the seed created earlier: its body, or undefined when it
// is gone (404). Any other answer stops the seed: creating again on a 429 or a 503 would
// duplicate the demo program.
async function lookUp<T>(ctx: SeedContext, path: string, key: string): Promise<T | undefined> {
  const answer = await callJson('GET', api(ctx, path), { headers: bearer(key) });
  if (answer.status === 404) return undefined;
  if (answer.status !== 200) throw new Error(`GET ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body as T;
}

// The company still there and its key still good: kept. Key lost: a new one. Company gone
// (another database): everything is created again.
async function ensureCompany(ctx: SeedContext): Promise<NonNullable<SeedState['company']>> {
  const known = ctx.state.company;
  if (known !== undefined) {
    // A key that no longer authenticates (401) is replaced; the company is looked up as admin.
    const mine = await callJson('GET', api(ctx, `/v1/companies/${known.id}`), {
      headers: bearer(known.api_key),
    });
    if (mine.status === 200) return known;
    if (mine.status !== 401 && mine.status !== 404)
      throw new Error(`GET /v1/companies/${known.id}: ${mine.status} ${JSON.stringify(mine.body)}`);
    if ((await lookUp(ctx, `/v1/companies/${known.id}`, ctx.platform.admin_key)) !== undefined) {
      const issued = await expectStatus<{ key: string }>(
        'POST',
        api(ctx, `/v1/companies/${known.id}/api-keys`),
        [201],
        {
          headers: bearer(ctx.platform.admin_key),
          body: { key_name: 'demo' },
        },
      );
      return save(ctx, () => {
        ctx.state.company = { ...known, api_key: issued.key };
      }).company as NonNullable<SeedState['company']>;
    }
    ctx.logger.warn(
      { company_id: known.id },
      'the seeded company is gone (another database?): seeding again',
    );
    ctx.state.employees = {};
    ctx.state.cards = {};
    delete ctx.state.personal;
  }
  const created = await expectStatus<{ company: { id: string; name: string }; api_key: { key: string } }>(
    'POST',
    api(ctx, '/v1/companies'),
    [201],
    { headers: bearer(ctx.platform.admin_key), body: { name: demo_company_name, key_name: 'demo' } },
  );
  save(ctx, () => {
    ctx.state.company = { id: created.company.id, name: created.company.name, api_key: created.api_key.key };
  });
  assert.ok(ctx.state.company !== undefined);
  return ctx.state.company;
}

function save(ctx: SeedContext, change: () => void): SeedState {
  change();
  ctx.store.save(ctx.state);
  return ctx.state;
}

async function ensureEmployeeCard(ctx: SeedContext, key: string, employee: Employee): Promise<SeededCard> {
  const user = await ensureEmployee(ctx, key, employee);
  let card = ctx.state.cards[employee.key];
  if (card !== undefined) {
    const found = await lookUp<{ state: string }>(ctx, `/v1/cards/${card.id}`, key);
    // Gone (another database) or failed to issue for good: a new card is requested.
    if (found === undefined || found.state === 'failed') card = undefined;
    else await registerAtSim(ctx, card, found.state);
  }
  if (card === undefined) {
    const requested = await requestBusinessCard(
      ctx.platform.urls.api,
      key,
      user.id,
      ctx.platform.program.card_product_token,
    );
    card = { id: requested.id, card_token: requested.card_token, user_token: user.user_token };
    const created = card;
    save(ctx, () => {
      ctx.state.cards[employee.key] = created;
    });
  }
  await waitBusinessCardIssued(ctx.platform.urls.api, key, card.id);
  // Every start puts the seeded controls back (a PUT replaces them whole).
  await expectStatus('PUT', api(ctx, `/v1/cards/${card.id}/controls`), [200], {
    headers: bearer(key),
    body: employee.controls,
  });
  return { holder: employee.full_name, ...card, controls: employee.summary };
}

async function ensureEmployee(ctx: SeedContext, key: string, employee: Employee) {
  const known = ctx.state.employees[employee.key];
  if (known !== undefined) {
    if ((await lookUp(ctx, `/v1/users/${known.id}`, key)) !== undefined) return known;
  }
  const created = await expectStatus<{ id: string; user_token: string }>(
    'POST',
    api(ctx, '/v1/users'),
    [201],
    {
      headers: bearer(key),
      body: { email: employee.email, full_name: employee.full_name, role: employee.role },
    },
  );
  save(ctx, () => {
    ctx.state.employees[employee.key] = { id: created.id, user_token: created.user_token };
  });
  return created;
}

// The simulator forgets everything on a restart; Marqeta would not. A card we issued earlier
// is told to it again under the same tokens (in the state we hold it in), so that it can be
// used at once. A card the simulator knows is left alone.
async function registerAtSim(
  ctx: SeedContext,
  card: { card_token: string; user_token: string },
  state: string,
): Promise<void> {
  // Not issued yet (or failed): the card-issuer creates it at Marqeta itself.
  if (!['active', 'suspended', 'terminated'].includes(state)) return;
  try {
    await ctx.marqeta.getCard(card.card_token);
    return;
  } catch (error) {
    if (!(isMarqetaError(error) && error instanceof MarqetaHttpError && error.status === 404)) throw error;
  }
  await ctx.marqeta.createUser({ token: card.user_token, active: true });
  await ctx.marqeta.createCard({
    token: card.card_token,
    user_token: card.user_token,
    card_product_token: ctx.platform.program.card_product_token,
  });
  const marqeta_state = { suspended: 'SUSPENDED', terminated: 'TERMINATED' }[state];
  if (marqeta_state !== undefined) {
    await ctx.marqeta.createCardTransition({
      token: `seed-${card.card_token}`.slice(0, 36),
      card_token: card.card_token,
      channel: 'API',
      state: marqeta_state as 'SUSPENDED' | 'TERMINATED',
    });
  }
  ctx.logger.info({ card_token: card.card_token, state }, 'seeded card registered again at the simulator');
}

async function ensurePersonal(ctx: SeedContext): Promise<SeedResult['personal']> {
  const admin = bearer(ctx.platform.admin_key);
  let known = ctx.state.personal;
  if (known !== undefined) {
    const found = await lookUp(ctx, `/v1/personal/users/${known.user_token}`, ctx.platform.admin_key);
    if (found === undefined) known = undefined;
  }
  if (known === undefined) {
    const created = await expectStatus<{ user_token: string }>(
      'POST',
      api(ctx, '/v1/personal/users'),
      [201],
      {
        headers: admin,
        body: {
          email: personal_email,
          wallet_address: '0xdemo00pat00wallet',
          currency: 'USD',
          kyc_status: 'verified',
        },
      },
    );
    known = { user_token: created.user_token, email: personal_email };
    const fresh = known;
    save(ctx, () => {
      ctx.state.personal = fresh;
    });
  }
  // Idempotent by deposit_id: a repeat answers the first result and credits nothing.
  await expectStatus('POST', api(ctx, `/v1/personal/users/${known.user_token}/deposits`), [200, 201], {
    headers: admin,
    body: { deposit_id: `sd${known.user_token}`.slice(0, 36), ...personal_deposit },
  });
  const card_token = await ensurePersonalCard(ctx, known);
  const user = await expectStatus<{ wallet: { available_minor: number } }>(
    'GET',
    api(ctx, `/v1/personal/users/${known.user_token}`),
    [200],
    { headers: admin },
  );
  return {
    user_token: known.user_token,
    email: known.email,
    card_token,
    available_minor: user.wallet.available_minor,
  };
}

async function ensurePersonalCard(
  ctx: SeedContext,
  user: NonNullable<SeedState['personal']>,
): Promise<string> {
  const { urls, admin_key, program } = ctx.platform;
  const known = user.card_token;
  // A card the api no longer knows (another database), or one that failed to issue for good, is
  // issued again.
  const state = known === undefined ? undefined : await personalCardState(urls.api, admin_key, known);
  let card_token: string;
  if (known !== undefined && state !== undefined && state !== 'failed') {
    card_token = known;
    await registerAtSim(ctx, { card_token, user_token: user.user_token }, state);
  } else {
    const requested = await requestPersonalCard(
      urls.api,
      admin_key,
      user.user_token,
      program.card_product_token,
    );
    card_token = requested.card_token;
    save(ctx, () => {
      user.card_token = requested.card_token;
    });
  }
  await waitPersonalCardIssued(urls.api, admin_key, card_token);
  return card_token;
}
