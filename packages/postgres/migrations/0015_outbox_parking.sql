-- The api's outbox publisher gives a message up after a bounded number of refusals (an
-- unroutable or nacked command is a deployment or a data fault; retrying it forever only hid
-- it). A parked row is kept, unpublished, with its last error, until an operator requeues it
-- (`pnpm outbox --requeue`). The publisher's read still uses outbox_messages_unpublished_idx:
-- parked rows are few and are skipped there.
alter table outbox_messages add column parked_at timestamptz;
-- Refusals of the message by the broker, apart from `attempts` (which also counts the stalled
-- connections charged to it and drives the backoff): only refusals park a message.
alter table outbox_messages add column refusals integer not null default 0;
-- Checked for every row written from now on. NOT VALID: every existing row has parked_at null,
-- so validating would only scan the whole table under the exclusive lock of the column added
-- above, holding back the API's writes for nothing.
alter table outbox_messages add constraint outbox_messages_parked_unpublished_check
  check (parked_at is null or published_at is null) not valid;
