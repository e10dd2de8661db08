import { formatMinor } from '@afc/money';
import type { PersonalStore } from '@afc/personal-store';
import type { Sql } from '@afc/postgres';
import { nextToken } from './harness.ts';

export interface BusinessCardOptions {
  readonly card_state?: 'active' | 'suspended' | 'terminated';
  readonly user_status?: 'active' | 'suspended' | 'closed';
  readonly expiration?: { readonly year: number; readonly month: number };
  readonly currency?: string;
  readonly controls?: Partial<{
    per_transaction_limit_minor: number;
    daily_limit_minor: number;
    weekly_limit_minor: number;
    monthly_limit_minor: number;
    daily_count_limit: number;
    weekly_count_limit: number;
    monthly_count_limit: number;
    mcc_allow: string[];
    mcc_block: string[];
    blocked_merchant_ids: string[];
    blocked_countries: string[];
  }>;
}

export interface SeededCard {
  readonly card_token: string;
  readonly user_token: string;
}

// A company, an employee and an issued card with its spending controls, as the control plane
// will write them.
export async function seedBusinessCard(sql: Sql, options: BusinessCardOptions = {}): Promise<SeededCard> {
  const user_token = nextToken('user');
  const card_token = nextToken('card');
  const currency = options.currency ?? 'USD';
  const expiration = options.expiration ?? { year: 2099, month: 12 };
  const c = options.controls ?? {};
  await sql.begin(async (tx) => {
    const [company] = await tx<{ id: string }[]>`insert into companies (name) values ('Acme') returning id`;
    const [user] = await tx<{ id: string }[]>`
      insert into users (company_id, user_token, email, full_name, status)
      values (${company?.id ?? ''}, ${user_token}, ${`${user_token}@example.com`}, 'Ada Employee',
              ${options.user_status ?? 'active'})
      returning id`;
    const [card] = await tx<{ id: string }[]>`
      insert into cards (card_token, company_id, user_id, card_product_token, state, last_four,
                         expiration_month, expiration_year, currency_code)
      values (${card_token}, ${company?.id ?? ''}, ${user?.id ?? ''}, 'product-1', ${options.card_state ?? 'active'},
              '1234', ${expiration.month}, ${expiration.year}, ${currency})
      returning id`;
    await tx`
      insert into spending_controls (card_id, currency_code, per_transaction_limit_minor, daily_limit_minor,
        weekly_limit_minor, monthly_limit_minor, daily_count_limit, weekly_count_limit, monthly_count_limit,
        mcc_allow, mcc_block, blocked_merchant_ids, blocked_countries)
      values (${card?.id ?? ''}, ${currency}, ${c.per_transaction_limit_minor ?? null}, ${c.daily_limit_minor ?? null},
        ${c.weekly_limit_minor ?? null}, ${c.monthly_limit_minor ?? null}, ${c.daily_count_limit ?? null},
        ${c.weekly_count_limit ?? null}, ${c.monthly_count_limit ?? null}, ${c.mcc_allow ?? null},
        ${c.mcc_block ?? []}, ${c.blocked_merchant_ids ?? []}, ${c.blocked_countries ?? []})`;
  });
  return { card_token, user_token };
}

// A personal cardholder with a funded wallet and an active card.
export async function seedPersonalCard(store: PersonalStore, available_minor: number): Promise<SeededCard> {
  const user_token = nextToken('puser');
  const card_token = nextToken('pcard');
  await store.createUser({
    user_token,
    email: `${user_token}@example.com`,
    wallet_address: '0x0000000000000000000000000000000000000001',
    currency: 'USD',
    kyc_status: 'verified',
  });
  await store.creditDeposit({
    deposit_id: nextToken('deposit'),
    user_token,
    crypto_currency: 'USDC',
    crypto_amount: formatMinor(available_minor, 'USD'),
    rate: '1',
    credited_minor: available_minor,
    currency: 'USD',
  });
  await store.createCard({
    card_token,
    user_token,
    state: 'active',
    currency: 'USD',
    expiration_month: 12,
    expiration_year: 2099,
    last_four: '4321',
  });
  return { card_token, user_token };
}
