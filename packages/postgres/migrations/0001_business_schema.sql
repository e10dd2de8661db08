-- Business card program: the data of record (companies, their cardholders and cards, spending
-- controls, the durable ledger of JIT-funded transactions) and the tables that make consumers
-- and publishers idempotent. Redis holds the real-time copy and is rebuilt from these tables.
--
-- Conventions:
-- * Money is bigint integer minor units (`*_minor`), never numeric or float, with a
--   currency_code char(3) beside it. int8 is read back as a safe-integer JS number.
-- * States are text with a check constraint, not enum types: a check can be replaced in one
--   transactional migration; an enum value can never be removed.
-- * Tokens (`user_token`, `card_token`) are chosen by us and sent to Marqeta on create, so a
--   retried create is idempotent there (Marqeta tokens are at most 36 characters).
-- * `version` is bumped by every write the control plane makes, and written to Redis with the
--   row: Redis keeps the higher version, so write-through never goes back in time.
-- * Constraints that tests and operators refer to are named.

-- Every row's updated_at tells the truth, whichever code path wrote it.
create function afc_touch_updated_at() returns trigger
language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end
$$;

-- Check constraints cannot hold subqueries; an immutable function over the array can. True for
-- an empty array, false if any element is null or does not match.
create function afc_all_match(items text[], pattern text) returns boolean
language sql immutable parallel safe as $$
  select coalesce(bool_and(item is not null and item ~ pattern), true) from unnest(items) as item
$$;

create table companies (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(btrim(name)) between 1 and 200),
  status text not null default 'active' constraint companies_status_check
    check (status in ('active', 'suspended', 'closed')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Keys are shown once at creation; only their sha256 is stored. company_id null = a platform
-- administrator's key.
create table api_keys (
  id uuid primary key default gen_random_uuid(),
  company_id uuid references companies (id),
  key_hash text not null constraint api_keys_key_hash_key unique
    constraint api_keys_key_hash_check check (key_hash ~ '^[0-9a-f]{64}$'),
  key_prefix text not null check (length(key_prefix) between 4 and 32),
  name text not null check (length(btrim(name)) between 1 and 200),
  created_at timestamptz not null default now(),
  revoked_at timestamptz,
  constraint api_keys_revoked_at_check check (revoked_at >= created_at)
);
-- api_keys by key_hash: the unique constraint's index (authentication of every API call).
create index api_keys_company_idx on api_keys (company_id) where company_id is not null;

-- Business cardholders (employees). `status` is ours (the company's decision); `marqeta_state`
-- mirrors Marqeta's user state from usertransitions webhooks, null until the user exists
-- there. A JIT decision needs both to be active.
create table users (
  id uuid primary key default gen_random_uuid(),
  company_id uuid not null references companies (id),
  user_token text not null constraint users_user_token_key unique check (length(user_token) between 1 and 36),
  email text not null check (email ~ '^[^@[:space:]]+@[^@[:space:]]+$' and length(email) <= 320),
  full_name text not null check (length(btrim(full_name)) between 1 and 200),
  role text not null default 'employee' constraint users_role_check
    check (role in ('admin', 'manager', 'employee')),
  status text not null default 'active' constraint users_status_check
    check (status in ('active', 'suspended', 'closed')),
  -- An unknown Marqeta state fails loudly here rather than being treated as active.
  marqeta_state text constraint users_marqeta_state_check
    check (marqeta_state in ('UNVERIFIED', 'LIMITED', 'ACTIVE', 'SUSPENDED', 'CLOSED')),
  version bigint not null default 1 check (version > 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- Target of cards' composite foreign key: a card's company is its holder's company.
  constraint users_id_company_key unique (id, company_id)
);
-- Email unique within a company, whatever its case. Also serves "users of a company".
create unique index users_company_email_key on users (company_id, lower(email));
create index users_company_created_idx on users (company_id, created_at desc, id desc);

create table cards (
  id uuid primary key default gen_random_uuid(),
  card_token text not null constraint cards_card_token_key unique check (length(card_token) between 1 and 36),
  company_id uuid not null,
  user_id uuid not null,
  card_product_token text not null check (length(card_product_token) between 1 and 36),
  state text not null default 'requested' constraint cards_state_check
    check (state in ('requested', 'issuing', 'active', 'suspended', 'terminated', 'failed')),
  failure_reason text,
  last_four char(4) check (last_four ~ '^[0-9]{4}$'),
  -- The card expires at the end of this month (UTC): decline EXPIRED_CARD after it.
  expiration_month smallint check (expiration_month between 1 and 12),
  expiration_year smallint check (expiration_year between 2000 and 2200),
  currency_code char(3) not null check (currency_code ~ '^[A-Z]{3}$'),
  version bigint not null default 1 check (version > 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint cards_user_company_fkey foreign key (user_id, company_id) references users (id, company_id),
  constraint cards_failure_reason_check check (state <> 'failed' or failure_reason is not null),
  constraint cards_expiration_check check ((expiration_month is null) = (expiration_year is null)),
  -- A card Marqeta issued has its last four digits and expiry; one still being issued may not.
  constraint cards_issued_details_check
    check (state not in ('active', 'suspended') or (last_four is not null and expiration_month is not null)),
  -- Target of transactions' composite foreign key.
  constraint cards_id_user_company_key unique (id, user_id, company_id)
);
create index cards_user_created_idx on cards (user_id, created_at desc, id desc);
create index cards_company_created_idx on cards (company_id, created_at desc, id desc);

-- One row per card; a null limit means no limit of that kind. Limits are in the card's
-- currency. Windows are calendar windows in UTC (day, ISO week from Monday, month).
create table spending_controls (
  card_id uuid primary key references cards (id),
  currency_code char(3) not null check (currency_code ~ '^[A-Z]{3}$'),
  per_transaction_limit_minor bigint,
  daily_limit_minor bigint,
  weekly_limit_minor bigint,
  monthly_limit_minor bigint,
  daily_count_limit integer,
  weekly_count_limit integer,
  monthly_count_limit integer,
  -- null = every MCC not blocked is allowed. An empty allow-list would silently block
  -- everything, so it is refused: block by state, not by an empty list.
  mcc_allow text[] constraint spending_controls_mcc_allow_check
    check (cardinality(mcc_allow) > 0 and afc_all_match(mcc_allow, '^[0-9]{4}$')),
  mcc_block text[] not null default '{}' constraint spending_controls_mcc_block_check
    check (afc_all_match(mcc_block, '^[0-9]{4}$')),
  blocked_merchant_ids text[] not null default '{}'
    check (afc_all_match(blocked_merchant_ids, '^[^[:space:]]{1,64}$')),
  -- ISO 3166 alpha-3, as card_acceptor.country_code arrives from Marqeta.
  blocked_countries text[] not null default '{}' constraint spending_controls_blocked_countries_check
    check (afc_all_match(blocked_countries, '^[A-Z]{3}$')),
  version bigint not null default 1 check (version > 0),
  updated_at timestamptz not null default now(),
  constraint spending_controls_limits_check check (
    per_transaction_limit_minor >= 0 and daily_limit_minor >= 0 and weekly_limit_minor >= 0
    and monthly_limit_minor >= 0 and daily_count_limit >= 0 and weekly_count_limit >= 0
    and monthly_count_limit >= 0
  )
);

-- Durable totals of approved spend per card and calendar window: settlement keeps them from
-- the approval events, and they rebuild the Redis counters if Redis is lost. A reversal can
-- give amount back, never below zero.
create table spending_totals (
  card_id uuid not null references cards (id),
  window_kind text not null check (window_kind in ('day', 'week', 'month')),
  window_start date not null,
  currency_code char(3) not null check (currency_code ~ '^[A-Z]{3}$'),
  amount_minor bigint not null default 0 constraint spending_totals_amount_check check (amount_minor >= 0),
  count integer not null default 0 constraint spending_totals_count_check check (count >= 0),
  updated_at timestamptz not null default now(),
  primary key (card_id, window_kind, window_start),
  constraint spending_totals_window_start_check check (
    (window_kind <> 'week' or extract(isodow from window_start) = 1)
    and (window_kind <> 'month' or extract(day from window_start) = 1)
  )
);

-- The ledger: one row per JIT funding token that moved (or tried to move) money, i.e. an
-- authorization-family request. Incremental authorizations are rows of their own linked by
-- original_jit_token; clearings, reversals and refunds that name an original update its
-- amounts and add a transaction_events row. A refund without an original is a row of its own.
-- Rows can be created from a webhook whose JIT request we never saw (Marqeta's word is final),
-- which is why original_jit_token is not a foreign key: the original may arrive later.
create table transactions (
  id uuid primary key default gen_random_uuid(),
  jit_token text not null constraint transactions_jit_token_key unique check (length(jit_token) between 1 and 64),
  original_jit_token text,
  card_id uuid not null,
  user_id uuid not null,
  company_id uuid not null,
  method text not null check (method ~ '^pgfs\.[a-z0-9_.]+$'),
  state text not null constraint transactions_state_check
    check (state in ('pending', 'cleared', 'partially_cleared', 'reversed', 'declined', 'expired')),
  currency_code char(3) not null check (currency_code ~ '^[A-Z]{3}$'),
  -- What the request asked for; authorized is what we approved (less on a partial approval,
  -- zero on a decline).
  requested_minor bigint not null,
  authorized_minor bigint not null default 0,
  cleared_minor bigint not null default 0,
  reversed_minor bigint not null default 0,
  refunded_minor bigint not null default 0,
  decline_reason text,
  -- Our internal reason code, as sent to Marqeta in jit_funding.memo.
  memo text,
  merchant_mid text,
  merchant_mcc text check (merchant_mcc ~ '^[0-9]{4}$'),
  merchant_name text,
  -- Alpha-3 is what Marqeta sends; alpha-2 is accepted rather than losing a real transaction.
  merchant_country text check (merchant_country ~ '^[A-Z]{2,3}$'),
  network text,
  marqeta_transaction_token text,
  -- Authorization time (from the request), not insert time.
  created_at timestamptz not null,
  updated_at timestamptz not null default now(),
  -- When an uncleared hold is released.
  expires_at timestamptz,
  constraint transactions_original_check check (original_jit_token <> jit_token),
  constraint transactions_expires_at_check check (expires_at > created_at),
  constraint transactions_card_fkey foreign key (card_id, user_id, company_id)
    references cards (id, user_id, company_id),
  constraint transactions_amounts_check check (
    requested_minor >= 0 and authorized_minor >= 0 and cleared_minor >= 0
    and reversed_minor >= 0 and refunded_minor >= 0
  ),
  constraint transactions_authorized_check check (authorized_minor <= requested_minor),
  -- A reversal releases at most what was held.
  constraint transactions_reversed_check check (reversed_minor <= authorized_minor),
  -- While a hold is open (or once it expired or was reversed), clearings plus reversals stay
  -- within it. Networks do clear more than was authorized (tips, fuel), and that clearing
  -- ends the hold: only the final state 'cleared' may exceed it.
  constraint transactions_settled_check
    check (state = 'cleared' or cleared_minor + reversed_minor <= authorized_minor),
  constraint transactions_declined_check check (
    state <> 'declined' or (authorized_minor = 0 and cleared_minor = 0 and reversed_minor = 0
      and refunded_minor = 0 and decline_reason is not null)
  ),
  constraint transactions_pending_check check (state <> 'pending' or (cleared_minor = 0 and expires_at is not null)),
  constraint transactions_reversed_state_check check (state <> 'reversed' or cleared_minor = 0)
);
-- Cursor pagination: where (created_at, id) < ($cursor_time, $cursor_id) order by created_at desc, id desc.
create index transactions_card_created_idx on transactions (card_id, created_at desc, id desc);
create index transactions_user_created_idx on transactions (user_id, created_at desc, id desc);
create index transactions_company_created_idx on transactions (company_id, created_at desc, id desc);
-- The expiry sweep reads only open holds.
create index transactions_pending_expiry_idx on transactions (expires_at) where state = 'pending';
-- Incrementals, clearings and reversals find their original; webhooks link events by
-- Marqeta's transaction token (preceding_related_transaction_token).
create index transactions_original_jit_token_idx on transactions (original_jit_token)
  where original_jit_token is not null;
create index transactions_marqeta_transaction_token_idx on transactions (marqeta_transaction_token)
  where marqeta_transaction_token is not null;

-- State history of a transaction, append-only. event_id is the idempotency key (the JIT token
-- of an informative message, or the webhook event's token): a repeat cannot apply twice.
create table transaction_events (
  id bigint generated always as identity primary key,
  transaction_id uuid not null references transactions (id),
  event_id text not null constraint transaction_events_event_id_key unique check (length(event_id) between 1 and 128),
  -- The Marqeta method or type that caused it (pgfs.authorization.clearing, …) or our own
  -- (expiry, timeout_release).
  kind text not null check (kind ~ '^[a-z][a-z0-9_.]*$'),
  amount_minor bigint not null constraint transaction_events_amount_check check (amount_minor >= 0),
  currency_code char(3) not null check (currency_code ~ '^[A-Z]{3}$'),
  state_before text check (state_before in ('pending', 'cleared', 'partially_cleared', 'reversed', 'declined', 'expired')),
  state_after text not null
    check (state_after in ('pending', 'cleared', 'partially_cleared', 'reversed', 'declined', 'expired')),
  -- When the network says it happened; recorded_at is when we learned it (they can be far
  -- apart: webhooks are retried for up to two weeks and arrive out of order).
  occurred_at timestamptz not null,
  recorded_at timestamptz not null default now(),
  details jsonb not null default '{}' check (jsonb_typeof(details) = 'object')
);
create index transaction_events_transaction_idx on transaction_events (transaction_id, id);

create function afc_refuse_change() returns trigger
language plpgsql as $$
begin
  raise exception '% is append-only', tg_table_name using errcode = 'restrict_violation';
end
$$;

create trigger transaction_events_append_only before update or delete on transaction_events
  for each row execute function afc_refuse_change();

-- Idempotent consumers: insert (consumer, message id) in the same transaction as the effect;
-- a redelivery hits the primary key and is acknowledged without doing the work again.
create table processed_events (
  consumer text not null check (length(consumer) between 1 and 100),
  event_id text not null check (length(event_id) between 1 and 200),
  processed_at timestamptz not null default now(),
  primary key (consumer, event_id)
);
-- Pruning old rows by age: rows arrive in time order, so a tiny BRIN index is enough.
create index processed_events_processed_at_idx on processed_events using brin (processed_at);

-- Transactional outbox of the control plane: a command is inserted in the same transaction
-- as the change it announces, and a relay publishes it with confirms, then sets published_at.
-- message_id becomes the AMQP messageId, the idempotency key downstream.
create table outbox_messages (
  id bigint generated always as identity primary key,
  message_id uuid not null default gen_random_uuid() constraint outbox_messages_message_id_key unique,
  exchange text not null check (length(exchange) between 1 and 255),
  routing_key text not null check (length(routing_key) between 1 and 255),
  payload jsonb not null,
  headers jsonb not null default '{}' check (jsonb_typeof(headers) = 'object'),
  created_at timestamptz not null default now(),
  published_at timestamptz,
  attempts integer not null default 0 check (attempts >= 0),
  last_error text,
  constraint outbox_messages_published_at_check check (published_at >= created_at)
);
-- The relay reads unpublished messages in insertion order; published rows leave the index.
create index outbox_messages_unpublished_idx on outbox_messages (id) where published_at is null;

create trigger companies_touch before update on companies
  for each row execute function afc_touch_updated_at();
create trigger users_touch before update on users
  for each row execute function afc_touch_updated_at();
create trigger cards_touch before update on cards
  for each row execute function afc_touch_updated_at();
create trigger spending_controls_touch before update on spending_controls
  for each row execute function afc_touch_updated_at();
create trigger spending_totals_touch before update on spending_totals
  for each row execute function afc_touch_updated_at();
create trigger transactions_touch before update on transactions
  for each row execute function afc_touch_updated_at();
