-- Operational history of each card's lifecycle, for both programs: what the card-issuer
-- announced (card.issued, card.issue.failed, consumed from the card-events queue) and the
-- transitions the api made (suspend, reactivate, terminate). It is a record of what happened,
-- read by GET /v1/cards/:id/events and GET /v1/personal/cards/:token/events: the data of record
-- of the card stays where it is (business `cards`, the personal store), nothing decides from
-- this table, and a lost row here never changes a card.
-- event_id is the message_id of the event (or the api's own deterministic id of a transition):
-- a redelivered or republished event finds its row and adds nothing.
create table card_lifecycle_events (
  id uuid primary key default gen_random_uuid(),
  event_id text not null constraint card_lifecycle_events_event_id_key unique
    check (length(event_id) between 1 and 200),
  program text not null check (program in ('business', 'personal')),
  card_token text not null check (length(card_token) between 1 and 36),
  user_token text not null check (length(user_token) between 1 and 36),
  type text not null constraint card_lifecycle_events_type_check
    check (type in ('card.issued', 'card.issue.failed', 'card.suspended', 'card.reactivated', 'card.terminated')),
  reason text check (reason is null or length(reason) between 1 and 500),
  -- What the event carried beyond the columns (last four and expiry, Marqeta's error code and the
  -- attempts, the state a transition started from); never a card number or CVV.
  details jsonb not null default '{}' check (jsonb_typeof(details) = 'object'),
  occurred_at timestamptz not null,
  recorded_at timestamptz not null default now()
);
-- One card's history, oldest first (the route's order and cursor).
create index card_lifecycle_events_card_idx
  on card_lifecycle_events (program, card_token, occurred_at, id);
