-- The api's outbox publisher gives a message up after a bounded number of refusals (an
-- unroutable or nacked command is a deployment or a data fault; retrying it forever only hid
-- it). A parked row is kept, unpublished, with its last error, until an operator requeues it
-- (`pnpm outbox --requeue`). The publisher's read still uses outbox_messages_unpublished_idx:
-- parked rows are few and are skipped there.
alter table outbox_messages add column parked_at timestamptz;
alter table outbox_messages add constraint outbox_messages_parked_unpublished_check
  check (parked_at is null or published_at is null);
