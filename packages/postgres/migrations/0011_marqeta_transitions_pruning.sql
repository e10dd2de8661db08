-- The webhooks consumer prunes marqeta_transitions: a row can go some days after a newer
-- transition of its card or user was recorded (only the newest decides whether a later arrival
-- is newer). superseded_at is set, under the subject's lock, on the row a newer one replaces as
-- newest, and on a late arrival older than the newest; the newest row never has it.
alter table marqeta_transitions add column superseded_at timestamptz;
update marqeta_transitions m set superseded_at = now()
where exists (
  select 1 from marqeta_transitions n
  where n.subject = m.subject and n.subject_token = m.subject_token
    and (n.created_time, n.state_rank, n.event_token collate "C")
      > (m.created_time, m.state_rank, m.event_token collate "C"));
-- Only superseded rows are ever scanned by the pruning.
create index marqeta_transitions_superseded_idx on marqeta_transitions (superseded_at)
  where superseded_at is not null;
