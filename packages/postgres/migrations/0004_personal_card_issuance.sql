-- Personal cards: what the card-issuer learns from Marqeta and what recovery needs.
-- - 'failed' with its reason: an issuance Marqeta refused for good (like business cards).
-- - card_product_token: kept with the card so that an issue command lost before it reached
--   the broker (MongoDB has no shared transaction with the PostgreSQL outbox) can be rebuilt
--   from the card alone by the api's recovery sweep.
alter table personal.cards drop constraint cards_state_check;
alter table personal.cards add constraint cards_state_check
  check (state in ('unactivated', 'active', 'suspended', 'terminated', 'failed'));
alter table personal.cards add column failure_reason text
  check (failure_reason is null or length(failure_reason) between 1 and 500);
alter table personal.cards add column card_product_token text collate "C"
  check (card_product_token is null or card_product_token ~ '^[!-~]{1,100}$');
alter table personal.cards add constraint cards_failure_reason_only_when_failed
  check ((state = 'failed') = (failure_reason is not null));
-- The sweep's query: cards still waiting for issuance, oldest first.
create index cards_unactivated_idx on personal.cards (created_at, card_token) where state = 'unactivated';
