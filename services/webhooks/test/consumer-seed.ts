import type { DecideRequest } from '@afc/card-state';
import { readCardRecord, writeCardRecord } from '@afc/card-state';
import type { PersonalStore } from '@afc/personal-store';
import type { Sql } from '@afc/postgres';
import type { Harness } from './harness.ts';

let sequence = 0;
export function nextToken(prefix: string): string {
  sequence += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${sequence}`;
}

export interface SeededCard {
  readonly card_token: string;
  readonly user_token: string;
}

// A company, an employee and an issued card in the given state, with no spending controls.
export async function seedBusinessCard(
  sql: Sql,
  state = 'active',
  tokens: SeededCard = { card_token: nextToken('card'), user_token: nextToken('user') },
): Promise<SeededCard> {
  const { user_token, card_token } = tokens;
  const issued = state === 'active' || state === 'suspended' || state === 'terminated';
  await sql.begin(async (tx) => {
    const [company] = await tx<{ id: string }[]>`insert into companies (name) values ('Acme') returning id`;
    const [user] = await tx<{ id: string }[]>`
      insert into users (company_id, user_token, email, full_name)
      values (${company?.id ?? ''}, ${user_token}, ${`${user_token}@example.com`}, 'Ada Employee')
      returning id`;
    await tx`
      insert into cards (card_token, company_id, user_id, card_product_token, currency_code, state,
                         last_four, expiration_month, expiration_year)
      values (${card_token}, ${company?.id ?? ''}, ${user?.id ?? ''}, 'product-1', 'USD', ${state},
              ${issued ? '4242' : null}, ${issued ? 12 : null}, ${issued ? 2099 : null})`;
  });
  return { card_token, user_token };
}

// A verified personal cardholder with an active card.
export async function seedPersonalCard(store: PersonalStore): Promise<SeededCard> {
  const user_token = nextToken('puser');
  const card_token = nextToken('pcard');
  await store.createUser({
    user_token,
    email: `${user_token}@example.com`,
    wallet_address: '0x0000000000000000000000000000000000000001',
    currency: 'USD',
    kyc_status: 'verified',
  });
  await store.createCard({
    card_token,
    user_token,
    state: 'active',
    currency: 'USD',
    expiration_month: 12,
    expiration_year: 2099,
    last_four: '4242',
  });
  return { card_token, user_token };
}

// The card as the authorizer would have it cached before the transition: the staleness a
// write-through must overcome.
export async function cacheCard(h: Harness, card_token: string): Promise<void> {
  const sources = { sql: h.app.postgres.sql, personal_store: h.app.personalStore };
  const record = await readCardRecord(sources, card_token, Date.now());
  if (record === undefined) throw new Error(`no card ${card_token}`);
  await writeCardRecord(h.card_state, record);
}

// A JIT authorization as the authorizer passes it to its decision script.
export function authorization(card: SeededCard): DecideRequest {
  return {
    kind: 'authorization',
    single_message: false,
    method: 'pgfs.authorization',
    jit_token: nextToken('jit'),
    card_token: card.card_token,
    user_token: card.user_token,
    amount_minor: 1_000,
    currency: 'USD',
    mcc: '5411',
    mid: 'merchant-1',
    merchant_country: 'USA',
    now_ms: Date.now(),
    deadline_at_ms: Date.parse('2100-01-01T00:00:00Z'),
  };
}

// The decision's memo ('approve' for an approval, the status when the script lacks state).
export async function decide(h: Harness, card: SeededCard): Promise<string> {
  const result = await h.card_state.decide(authorization(card));
  if (result.status !== 'decided') return result.status;
  if (result.outcome === 'decline') return result.memo;
  return result.outcome;
}

// Marqeta's cardtransition and usertransition webhook objects (the fields we read, and a few
// we do not).
export function cardTransition(
  card_token: string,
  state: string,
  created_time: string,
  token = nextToken('ct'),
) {
  return { token, card_token, state, created_time, channel: 'API', type: `state.${state.toLowerCase()}` };
}

export function userTransition(
  user_token: string,
  status: string,
  created_time: string,
  token = nextToken('ut'),
) {
  return { token, user_token, status, created_time, channel: 'API', reason_code: '01' };
}
