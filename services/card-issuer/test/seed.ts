import { randomUUID } from 'node:crypto';
import { type PersonalStore, unissuedCard } from '@afc/personal-store';
import type { Sql } from '@afc/postgres';
import { product_token } from './harness.ts';

let sequence = 0;
export function nextToken(prefix: string): string {
  sequence += 1;
  return `${prefix}-${process.pid}-${sequence}`;
}

export interface RequestedCard {
  readonly card_token: string;
  readonly user_token: string;
}

// A company, an employee and a card the control plane recorded as 'requested' (no Marqeta
// details yet), with spending controls.
export async function seedRequestedBusinessCard(sql: Sql): Promise<RequestedCard> {
  const user_token = nextToken('user');
  const card_token = nextToken('card');
  await sql.begin(async (tx) => {
    const [company] = await tx<{ id: string }[]>`insert into companies (name) values ('Acme') returning id`;
    const [user] = await tx<{ id: string }[]>`
      insert into users (company_id, user_token, email, full_name)
      values (${company?.id ?? ''}, ${user_token}, ${`${user_token}@example.com`}, 'Ada Lovelace Employee')
      returning id`;
    const [card] = await tx<{ id: string }[]>`
      insert into cards (card_token, company_id, user_id, card_product_token, currency_code)
      values (${card_token}, ${company?.id ?? ''}, ${user?.id ?? ''}, ${product_token}, 'USD')
      returning id`;
    await tx`
      insert into spending_controls (card_id, currency_code, per_transaction_limit_minor, mcc_block)
      values (${card?.id ?? ''}, 'USD', 50000, ${['7995']})`;
  });
  return { card_token, user_token };
}

// A personal cardholder whose card the control plane recorded 'unactivated'.
export async function seedRequestedPersonalCard(store: PersonalStore): Promise<RequestedCard> {
  const user_token = nextToken('puser');
  const card_token = nextToken('pcard');
  await store.createUser({
    user_token,
    email: `${user_token}@example.com`,
    wallet_address: '0x0000000000000000000000000000000000000001',
    currency: 'USD',
    kyc_status: 'verified',
  });
  await store.createCard(unissuedCard({ card_token, user_token, currency: 'USD' }));
  return { card_token, user_token };
}

export function issueCommand(
  card: RequestedCard,
  overrides: Partial<{ program: 'business' | 'personal'; card_product_token: string }> = {},
) {
  return {
    command_id: randomUUID(),
    program: overrides.program ?? 'business',
    card_token: card.card_token,
    user_token: card.user_token,
    card_product_token: overrides.card_product_token ?? product_token,
    currency: 'USD',
    requested_at: new Date().toISOString(),
  };
}
