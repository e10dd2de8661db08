-- Settlement: the counter deltas each authorizer event carried, one row per (event, entry,
-- window). spending_totals is their sum per window, floored at zero, recomputed after every
-- insert: a sum over a set is the same in any arrival order, whereas adding each delta to
-- spending_totals directly would go below zero (and violate its check) whenever a reversal
-- arrives before the approval it gives back.
create table spending_total_deltas (
  event_id text not null check (length(event_id) between 1 and 128),
  -- Position of the entry in the event's counter_deltas.
  ordinal smallint not null check (ordinal >= 0),
  window_kind text not null check (window_kind in ('day', 'week', 'month')),
  card_id uuid not null references cards (id),
  window_start date not null,
  currency_code char(3) not null check (currency_code ~ '^[A-Z]{3}$'),
  amount_minor bigint not null,
  count integer not null,
  recorded_at timestamptz not null default now(),
  primary key (event_id, ordinal, window_kind)
);
-- The recompute sums one card's window.
create index spending_total_deltas_window_idx on spending_total_deltas (card_id, window_kind, window_start);

create trigger spending_total_deltas_append_only before update or delete on spending_total_deltas
  for each row execute function afc_refuse_change();
