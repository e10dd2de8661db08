-- Settlement's personal ledger, the twin of the business one (0003): each transaction row is
-- derived from the set of its events' contributions (stored with each event), and the wallet
-- follows the ledger's balance movements once per event, in any arrival order.

alter table personal.transactions
  add column requested_minor bigint not null default 0 check (requested_minor >= 0),
  add column decline_reason text,
  -- Our internal reason code (jit_funding.memo), or why settlement declined it.
  add column memo text,
  add column method text,
  add column network text,
  add column marqeta_transaction_token text,
  add column original_jit_token text collate "C",
  -- When an uncleared hold is released (null for rows not written by settlement).
  add column expires_at timestamptz(3);

-- Settlement's events carry what they contribute (null for events recorded by
-- recordTransactionEvent) and what kind of event they were.
alter table personal.transaction_events
  add column kind text check (kind ~ '^[a-z][a-z0-9_.]*$'),
  add column amount_minor bigint check (amount_minor >= 0),
  add column details jsonb check (details is null or jsonb_typeof(details) = 'object');

-- The open holds the expiry sweep reads.
create index transactions_pending_expiry_idx on personal.transactions (expires_at)
  where state = 'pending' and expires_at is not null;

-- A balance movement can arrive before the one it undoes (a release before its hold): the
-- wallet then keeps the part it could not take as a shortfall instead of going negative, and
-- the next credit pays it back first. available - shortfall is the signed balance the events
-- add up to; the displayed balance never goes below zero, and once every event is in, the
-- shortfall is back to zero whatever the order.
alter table personal.wallets
  add column available_shortfall_minor bigint not null default 0 check (available_shortfall_minor >= 0),
  add column held_shortfall_minor bigint not null default 0 check (held_shortfall_minor >= 0),
  add constraint wallets_available_shortfall_check check (available_minor = 0 or available_shortfall_minor = 0),
  add constraint wallets_held_shortfall_check check (held_minor = 0 or held_shortfall_minor = 0);
