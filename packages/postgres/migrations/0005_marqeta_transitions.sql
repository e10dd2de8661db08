-- Marqeta's card and user transitions as the webhooks consumer received them, one row per
-- webhook event token (the idempotency key: a repeat finds its row). The data of record follows
-- the newest transition of each card or user, by Marqeta's created_time, then the more
-- restrictive state (rank), then the token: a repeated or late event is recorded here and
-- changes nothing. Kept in PostgreSQL for both programs (the personal store keeps no history of
-- transitions); the subject tokens are ours (we choose card and user tokens at Marqeta).
create table marqeta_transitions (
  event_token text primary key check (length(event_token) between 1 and 100),
  subject text not null check (subject in ('card', 'user')),
  subject_token text not null check (length(subject_token) between 1 and 100),
  program text not null check (program in ('business', 'personal')),
  -- Marqeta's state or status as sent (ACTIVE, SUSPENDED, UNACTIVATED, CLOSED, ...).
  state text not null check (state ~ '^[A-Z_]{1,32}$'),
  -- Order among transitions of one subject with the same created_time: the more restrictive wins.
  state_rank smallint not null check (state_rank between 0 and 9),
  created_time timestamptz not null,
  -- What the consumer did with it when it arrived.
  outcome text not null check (outcome in ('applied', 'unchanged', 'superseded', 'ignored', 'left_to_issuer')),
  recorded_at timestamptz not null default now()
);
-- The newest transition of one subject.
create index marqeta_transitions_subject_idx
  on marqeta_transitions (subject, subject_token, created_time desc, state_rank desc, event_token desc);
