-- Settlement's sweep reads personal holds past expires_at that are still open, oldest first:
-- pending ones and partially cleared ones (the rest of the hold is still held).
-- transactions_pending_expiry_idx (0006) covers only the first, as 0008 found for business.
create index personal_transactions_open_expiry_idx on personal.transactions (expires_at, jit_token)
  where state in ('pending', 'partially_cleared');

-- pnpm rebuild-redis pages through the open personal holds by jit_token.
create index personal_transactions_open_token_idx on personal.transactions (jit_token)
  where state in ('pending', 'partially_cleared');
