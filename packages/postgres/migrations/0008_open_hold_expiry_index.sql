-- Settlement's hold-expiry sweep reads open holds past expires_at, oldest first: pending ones and
-- partially cleared ones (the rest of the hold is still held). transactions_pending_expiry_idx
-- covers only the first, so every pass would scan the table for the second.
create index transactions_open_expiry_idx on transactions (expires_at)
  where state in ('pending', 'partially_cleared');
