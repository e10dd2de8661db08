-- The webhooks consumer prunes marqeta_transitions: rows recorded long ago that are not the
-- newest of their subject (only the newest decides whether a later arrival is newer).
create index marqeta_transitions_recorded_idx on marqeta_transitions (recorded_at);
