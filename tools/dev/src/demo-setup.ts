// This run's cards, issued through the api like any client's: one per seeded employee with the
// demo's controls, and a personal cardholder of its own with a funded wallet.
import { randomBytes } from 'node:crypto';
import {
  requestBusinessCard,
  requestPersonalCard,
  waitBusinessCardIssued,
  waitPersonalCardIssued,
} from './card-issuance.ts';
import { bearer, expectStatus } from './http.ts';
import type { Platform } from './platform.ts';
import type { SeedState } from './seed.ts';

export interface DemoCard {
  readonly holder: string;
  readonly program: 'business' | 'personal';
  // The api's card id (business cards); personal cards are addressed by token.
  readonly id: string;
  readonly card_token: string;
  readonly user_token: string;
}

export interface DemoPersonal {
  readonly card: DemoCard;
  readonly user_token: string;
  readonly deposit_minor: number;
}

export interface DemoRun {
  readonly run_id: string;
  readonly company_key: string;
  readonly cards: Readonly<Record<keyof typeof demo_controls, DemoCard>>;
  readonly personal: DemoPersonal;
}

export class DemoSetupError extends Error {
  readonly code = 'AFC_DEV_DEMO_SETUP';
}

// The controls of this run's cards: Ada's card shows the merchant rules and the daily amount,
// Ben's the daily count, Cleo's a suspension; the personal card spends its wallet.
export const demo_controls = {
  ada: {
    daily_limit_minor: 200_00,
    mcc_block: ['7995'],
    blocked_merchant_ids: ['demo-blocked-shop'],
    blocked_countries: ['PRK'],
  },
  ben: { daily_count_limit: 2 },
  cleo: {},
} as const;
export const personal_deposit_minor = 100_00;

const holders = { ada: 'Ada Lovelace', ben: 'Ben Okafor', cleo: 'Cleo Martin' } as const;

export async function issueDemoCards(target: { platform: Platform; seed: SeedState }): Promise<DemoRun> {
  const { platform, seed } = target;
  const company_key = seed.company?.api_key;
  if (company_key === undefined) throw new DemoSetupError('the seed has no company: run `pnpm start` first');
  const run_id = `${new Date().toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`;
  const names = Object.keys(demo_controls) as (keyof typeof demo_controls)[];
  const issued = await Promise.all(names.map((name) => issueBusiness(platform, seed, company_key, name)));
  const cards = Object.fromEntries(names.map((name, index) => [name, issued[index]])) as DemoRun['cards'];
  const personal = await issuePersonal(platform, run_id);
  return { run_id, company_key, cards, personal };
}

async function issueBusiness(
  platform: Platform,
  seed: SeedState,
  key: string,
  name: keyof typeof demo_controls,
): Promise<DemoCard> {
  const employee = seed.employees[name];
  if (employee === undefined)
    throw new DemoSetupError(`the seed has no employee ${name}: run \`pnpm start\` first`);
  const api = platform.urls.api;
  const card = await requestBusinessCard(api, key, employee.id, platform.program.card_product_token);
  await waitBusinessCardIssued(api, key, card.id);
  await expectStatus('PUT', `${api}/v1/cards/${card.id}/controls`, [200], {
    headers: bearer(key),
    body: demo_controls[name],
  });
  return {
    holder: holders[name],
    program: 'business',
    id: card.id,
    card_token: card.card_token,
    user_token: employee.user_token,
  };
}

async function issuePersonal(platform: Platform, run_id: string): Promise<DemoPersonal> {
  const api = platform.urls.api;
  const admin = bearer(platform.admin_key);
  const user = await expectStatus<{ user_token: string }>('POST', `${api}/v1/personal/users`, [201], {
    headers: admin,
    body: {
      email: `demo-${run_id}@example.com`,
      wallet_address: `0xdemo${run_id.replaceAll('-', '')}`,
      currency: 'USD',
      kyc_status: 'verified',
    },
  });
  // 0.002 BTC at 50 000 USD/BTC = 100.00 USD.
  await expectStatus('POST', `${api}/v1/personal/users/${user.user_token}/deposits`, [201], {
    headers: admin,
    body: { deposit_id: `demo-${run_id}`, crypto_currency: 'BTC', crypto_amount: '0.002', rate: '50000' },
  });
  const card = await requestPersonalCard(
    api,
    platform.admin_key,
    user.user_token,
    platform.program.card_product_token,
  );
  await waitPersonalCardIssued(api, platform.admin_key, card.card_token);
  return {
    user_token: user.user_token,
    deposit_minor: personal_deposit_minor,
    card: {
      holder: 'Pat (personal)',
      program: 'personal',
      id: card.card_token,
      card_token: card.card_token,
      user_token: user.user_token,
    },
  };
}
