-- Personal card program: the PostgreSQL twin of the MongoDB data of record (used when no
-- MONGODB_URI is configured). Owned by @afc/personal-store; the same entities, tokens unique,
-- money in bigint minor units with the currency beside it, balances never negative.
-- Times are timestamptz(3): the store writes millisecond Dates, and cursors compare them exactly.
-- Tokens collate "C" (byte order): pages sort the same here as in MongoDB, whatever the locale.

create schema if not exists personal;

create table personal.users (
  user_token text collate "C" primary key check (user_token ~ '^[!-~]{1,100}$'),
  email text not null check (length(email) between 3 and 254),
  kyc_status text not null check (kyc_status in ('pending', 'verified', 'rejected')),
  wallet_address text not null check (length(wallet_address) between 1 and 200),
  status text not null check (status in ('active', 'suspended', 'closed')),
  created_at timestamptz(3) not null,
  updated_at timestamptz(3) not null
);

create table personal.wallets (
  user_token text collate "C" primary key references personal.users (user_token),
  currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
  -- The last line of defence: the store's conditional updates already keep these >= 0.
  available_minor bigint not null check (available_minor >= 0),
  held_minor bigint not null check (held_minor >= 0),
  version bigint not null check (version >= 0),
  created_at timestamptz(3) not null,
  updated_at timestamptz(3) not null
);

-- Both sides of the conversion, kept as the decimal text received (no rounding on the way in).
create table personal.wallet_deposits (
  deposit_id text collate "C" primary key check (deposit_id ~ '^[!-~]{1,100}$'),
  user_token text collate "C" not null references personal.wallets (user_token),
  crypto_currency text not null check (length(crypto_currency) between 1 and 20),
  crypto_amount text not null check (crypto_amount ~ '^[0-9]{1,30}(\.[0-9]{1,30})?$'),
  rate text not null check (rate ~ '^[0-9]{1,30}(\.[0-9]{1,30})?$'),
  credited_minor bigint not null check (credited_minor > 0),
  currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
  -- The wallet right after the credit: a replay answers with it.
  available_after_minor bigint not null check (available_after_minor >= 0),
  held_after_minor bigint not null check (held_after_minor >= 0),
  version_after bigint not null,
  created_at timestamptz(3) not null
);
create index wallet_deposits_user_idx on personal.wallet_deposits (user_token, created_at);

-- Every balance change with its outcome, declines included: a repeated change_id answers with
-- the first outcome even if the balance has moved since.
create table personal.balance_changes (
  change_id text collate "C" primary key check (change_id ~ '^[!-~]{1,100}$'),
  user_token text collate "C" not null references personal.wallets (user_token),
  kind text not null check (kind in ('hold', 'release', 'capture', 'refund', 'adjust')),
  amount_minor bigint not null,
  currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
  jit_token text collate "C",
  memo text,
  outcome text not null check (outcome in ('applied', 'insufficient_funds', 'insufficient_held')),
  available_after_minor bigint not null check (available_after_minor >= 0),
  held_after_minor bigint not null check (held_after_minor >= 0),
  version_after bigint not null,
  created_at timestamptz(3) not null,
  constraint balance_changes_amount_sign check (
    (kind = 'adjust' and amount_minor <> 0) or (kind <> 'adjust' and amount_minor > 0)
  )
);
create index balance_changes_user_idx on personal.balance_changes (user_token, created_at);
create index balance_changes_jit_idx on personal.balance_changes (jit_token) where jit_token is not null;

create table personal.cards (
  card_token text collate "C" primary key check (card_token ~ '^[!-~]{1,100}$'),
  user_token text collate "C" not null references personal.users (user_token),
  state text not null check (state in ('unactivated', 'active', 'suspended', 'terminated')),
  currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
  expiration_month smallint not null check (expiration_month between 1 and 12),
  expiration_year smallint not null check (expiration_year between 2000 and 2200),
  last_four char(4) not null check (last_four ~ '^[0-9]{4}$'),
  created_at timestamptz(3) not null,
  updated_at timestamptz(3) not null
);
create index cards_user_idx on personal.cards (user_token, created_at, card_token);

-- One row per JIT funding token. No foreign key to cards or users: settlement records what
-- Marqeta's webhooks say even when they arrive before (or without) what we expected.
create table personal.transactions (
  jit_token text collate "C" primary key check (jit_token ~ '^[!-~]{1,100}$'),
  card_token text collate "C" not null,
  user_token text collate "C" not null,
  currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
  state text not null check (
    state in ('pending', 'cleared', 'partially_cleared', 'reversed', 'declined', 'expired')
  ),
  state_at timestamptz(3) not null,
  authorized_minor bigint not null check (authorized_minor >= 0),
  cleared_minor bigint not null check (cleared_minor >= 0),
  reversed_minor bigint not null check (reversed_minor >= 0),
  refunded_minor bigint not null check (refunded_minor >= 0),
  merchant_mid text,
  merchant_name text,
  merchant_mcc text,
  merchant_city text,
  merchant_country_code text,
  created_at timestamptz(3) not null,
  updated_at timestamptz(3) not null
);
create index transactions_card_page_idx on personal.transactions (card_token, created_at desc, jit_token desc);
create index transactions_user_page_idx on personal.transactions (user_token, created_at desc, jit_token desc);

-- The state history: one row per event id (the idempotency key of webhook events). Deferred
-- so that the event row, inserted first as the replay guard, may precede its transaction row.
create table personal.transaction_events (
  event_id text collate "C" primary key check (event_id ~ '^[!-~]{1,100}$'),
  jit_token text collate "C" not null references personal.transactions (jit_token) deferrable initially deferred,
  seq bigint generated always as identity,
  state text not null check (
    state in ('pending', 'cleared', 'partially_cleared', 'reversed', 'declined', 'expired')
  ),
  occurred_at timestamptz(3) not null,
  authorized_minor bigint not null check (authorized_minor >= 0),
  cleared_minor bigint not null check (cleared_minor >= 0),
  reversed_minor bigint not null check (reversed_minor >= 0),
  refunded_minor bigint not null check (refunded_minor >= 0),
  recorded_at timestamptz(3) not null
);
create index transaction_events_jit_idx on personal.transaction_events (jit_token, seq);
